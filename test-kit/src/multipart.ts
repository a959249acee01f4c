/**
 * GraphQL multipart request bodies (https://github.com/jaydenseric/graphql-multipart-request-spec)
 * built by hand, so a test can also build the broken ones: a lying map, a missing file part, a body
 * cut inside the file, a body streamed in chunks.
 */
import { randomBytes } from 'node:crypto';
import { type GraphQLResult, readGraphQLResult } from './graphql';

export const UPLOAD_MUTATION =
  'mutation Upload($file: Upload!) { uploadImage(file: $file) { id url thumbnailUrl sha256 filename contentType byteSize width height } }';

export interface MultipartOptions {
  /** The mutation sent as `operations` (the file is `variables.file`); default UPLOAD_MUTATION. */
  query?: string;
  /** Replaces the whole `operations` field. */
  operations?: string;
  /** Replaces the `map` field. */
  map?: string;
  filename?: string;
  contentType?: string;
  /** Leave the file part out. */
  omitFile?: boolean;
  /** Plain fields after `map`, before the file (a duplicated `operations`, an unexpected field). */
  extraFields?: { name: string; value: string }[];
  /** Extra parts after the file (more files, unexpected fields). */
  extraParts?: { name: string; filename?: string; body: Buffer }[];
  boundary?: string;
}

export interface MultipartUpload {
  /** Everything before the file's bytes (operations, map, the file part's headers). */
  head: Buffer;
  file: Buffer;
  /** Everything after the file's bytes (extra parts, closing boundary). */
  tail: Buffer;
  /** head + file + tail. */
  body: Buffer;
  contentType: string;
  boundary: string;
}

export function multipartUpload(file: Buffer, options: MultipartOptions = {}): MultipartUpload {
  const boundary = options.boundary ?? `----imagehub-test-${randomBytes(8).toString('hex')}`;
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const fileHeader = (name: string, filename: string, type: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  const operations =
    options.operations ??
    JSON.stringify({ query: options.query ?? UPLOAD_MUTATION, variables: { file: null } });
  let head = field('operations', operations) + field('map', options.map ?? '{"0":["variables.file"]}');
  for (const extra of options.extraFields ?? []) head += field(extra.name, extra.value);
  const tailParts: Buffer[] = [];
  if (options.omitFile) {
    file = Buffer.alloc(0);
  } else {
    head += fileHeader('0', options.filename ?? 'picture.png', options.contentType ?? 'image/png');
    tailParts.push(Buffer.from('\r\n'));
  }
  for (const extra of options.extraParts ?? []) {
    tailParts.push(
      Buffer.from(fileHeader(extra.name, extra.filename ?? 'extra.png', 'application/octet-stream')),
      extra.body,
      Buffer.from('\r\n'),
    );
  }
  tailParts.push(Buffer.from(`--${boundary}--\r\n`));
  const headBytes = Buffer.from(head);
  const tail = Buffer.concat(tailParts);
  return {
    head: headBytes,
    file,
    tail,
    body: Buffer.concat([headBytes, file, tail]),
    contentType: `multipart/form-data; boundary=${boundary}`,
    boundary,
  };
}

/**
 * Upload forms the gateway and the image subgraph both refuse, with the same code. A form whose
 * `operations` or `map` is not JSON, or not of the spec's shape, makes the request unusable:
 * BAD_REQUEST (the contract's "malformed multipart"), with HTTP 400, before the operation runs. A
 * usable form that is wrong about its file is BAD_USER_INPUT (the status differs: the gateway refuses
 * the request, the subgraph's resolver the file). `multipartUpload(file, options)` builds each.
 */
export const REFUSED_UPLOAD_FORMS: [label: string, code: string, options: MultipartOptions][] = [
  ['"operations" that is not JSON', 'BAD_REQUEST', { operations: '{"query":' }],
  ['"operations" that is not an object', 'BAD_REQUEST', { operations: '"mutation { x }"' }],
  ['"map" that is not JSON', 'BAD_REQUEST', { map: '{"0": [' }],
  ['"map" that is not an object', 'BAD_REQUEST', { map: '[]' }],
  ['a "map" entry that is not a list of paths', 'BAD_REQUEST', { map: '{"0": [1]}' }],
  ['no file part', 'BAD_USER_INPUT', { omitFile: true }],
  ['a file part the map does not name', 'BAD_USER_INPUT', { map: '{"1": ["variables.file"]}' }],
  ['a map path to a variable that does not exist', 'BAD_USER_INPUT', { map: '{"0": ["variables.other"]}' }],
  [
    'a second file the map does not name',
    'BAD_USER_INPUT',
    { extraParts: [{ name: '1', body: Buffer.from('x') }] },
  ],
  ['a duplicated "operations" field', 'BAD_REQUEST', { extraFields: [{ name: 'operations', value: '{}' }] }],
  ['a file part without a filename', 'BAD_REQUEST', { filename: '' }],
  [
    'a second file',
    'BAD_USER_INPUT',
    {
      map: '{"0": ["variables.file"], "1": ["variables.other"]}',
      extraParts: [{ name: '1', body: Buffer.from('x') }],
    },
  ],
];

/** Sends a hand-built multipart body to a service's `/graphql` (gateway or subgraph), signed in as `token`. */
export async function postMultipart(
  serviceUrl: string,
  token: string,
  { body, contentType }: Pick<MultipartUpload, 'body' | 'contentType'>,
): Promise<GraphQLResult> {
  const response = await fetch(`${serviceUrl}/graphql`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'apollo-require-preflight': 'true',
      'content-type': contentType,
    },
    body: new Uint8Array(body),
  });
  return readGraphQLResult(response);
}

/** The same request as a FormData, for fetch to encode (the way a browser sends it). */
export function uploadForm(
  query: string,
  bytes: Uint8Array,
  filename: string,
  declaredType = 'application/octet-stream',
): FormData {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: { file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([new Uint8Array(bytes)], { type: declaredType }), filename);
  return form;
}
