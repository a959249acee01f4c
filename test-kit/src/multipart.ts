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
 * Forms that break the multipart request spec in their `operations` or `map` field: the contract's
 * BAD_REQUEST ("malformed multipart"), which the gateway and the image subgraph both answer, with
 * HTTP 400, before the operation runs. `multipartUpload(file, options)` builds each.
 */
export const MALFORMED_UPLOAD_FORMS: [label: string, options: MultipartOptions][] = [
  ['"operations" that is not JSON', { operations: '{"query":' }],
  ['"operations" that is not an object', { operations: '"mutation { x }"' }],
  ['"map" that is not JSON', { map: '{"0": [' }],
  ['"map" that is not an object', { map: '[]' }],
  ['a "map" entry that is not a list of paths', { map: '{"0": [1]}' }],
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
