import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { UNAUTHENTICATED_MESSAGES } from '@imagehub/service-kit';
import { uploadImage } from '@imagehub/subgraph-image/test-support';
import {
  codesOf,
  multipartUpload,
  noisePng,
  noisePngOfSize,
  postMultipart,
  REFUSED_UPLOAD_FORMS,
  readGraphQLResult,
  uploadForm,
} from '@imagehub/test-kit';
import { gql, type RunningSystem, startSystem } from '../test-support/system';

const GATEWAY_LIMIT = 64 * 1024;
/** Short, so that a stalled upload is stopped within a test's time (the default is 10 s). */
const RATE_GRACE_MS = 2_000;
const UPLOAD = 'mutation ($file: Upload!) { uploadImage(file: $file) { id byteSize } }';

/** A multipart body sent chunked (no Content-Length), so only the streaming limit can catch it. */
function chunkedMultipart(file: Buffer, chunkSize = 16 * 1024): ReadableStream<Uint8Array> {
  const { head, tail } = multipartUpload(file, {
    query: UPLOAD,
    filename: 'big.png',
    boundary: 'chunkedboundary',
  });
  const parts: Uint8Array[] = [head];
  for (let offset = 0; offset < file.length; offset += chunkSize)
    parts.push(file.subarray(offset, offset + chunkSize));
  parts.push(tail);
  return new ReadableStream({
    pull(controller) {
      const next = parts.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

async function postChunked(url: string, token: string, body: ReadableStream<Uint8Array>) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'multipart/form-data; boundary=chunkedboundary',
      'apollo-require-preflight': 'true',
      authorization: `Bearer ${token}`,
    },
    body,
    duplex: 'half',
  } as RequestInit);
  return readGraphQLResult(response);
}

async function uploadedBytes(system: RunningSystem): Promise<number> {
  const metrics = await (await fetch(system.gatewayMetricsUrl)).text();
  return Number(/gateway_upload_bytes_total\{[^}]*\} (\d+)/.exec(metrics)?.[1]);
}

async function imageCount(system: RunningSystem, token: string): Promise<number> {
  const result = await gql<{ myImages: { totalCount: number } }>(
    system.gatewayUrl,
    '{ myImages { totalCount } }',
    {
      token,
    },
  );
  return result.data!.myImages.totalCount;
}

describe('uploads through the gateway', () => {
  let system: RunningSystem;

  beforeAll(async () => {
    // The gateway's limit is far below the image subgraph's (10 MiB): a refusal here is the gateway's own.
    system = await startSystem({
      gatewayEnv: { MAX_UPLOAD_BYTES: String(GATEWAY_LIMIT), UPLOAD_RATE_GRACE_MS: String(RATE_GRACE_MS) },
    });
  });
  afterAll(async () => {
    await system?.close();
  });

  it('streams an upload under the limit to the image subgraph and counts its bytes', async () => {
    const user = await system.auth.registerUser();
    const png = noisePngOfSize(GATEWAY_LIMIT - 4096);
    expect(png.length).toBeLessThanOrEqual(GATEWAY_LIMIT);
    const result = await uploadImage<{ uploadImage: { byteSize: number } }>(
      system.gatewayUrl,
      user.accessToken,
      png,
      'fits.png',
      { query: UPLOAD },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.uploadImage.byteSize).toBeGreaterThan(0);
    expect(await uploadedBytes(system)).toBeGreaterThanOrEqual(png.length);
  });

  it('refuses an upload whose declared length is over the limit before reading it', async () => {
    const user = await system.auth.registerUser();
    const result = await uploadImage(
      system.gatewayUrl,
      user.accessToken,
      noisePngOfSize(GATEWAY_LIMIT * 6),
      'big.png',
      {
        query: UPLOAD,
      },
    );
    expect(result.status).toBe(413);
    // The limit in bytes, as the image subgraph's refusal gives it, for clients to show in their units.
    expect(result.errors?.[0]?.extensions).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'file',
      limit: GATEWAY_LIMIT,
    });
    expect(await imageCount(system, user.accessToken)).toBe(0);
  });

  it('stops a chunked upload (no Content-Length) as soon as it passes the limit', async () => {
    const user = await system.auth.registerUser();
    const result = await postChunked(
      system.gatewayUrl,
      user.accessToken,
      chunkedMultipart(noisePngOfSize(GATEWAY_LIMIT * 3)),
    );
    expect(result.errors).toHaveLength(1);
    expect(result.status).toBe(413);
    // Refused by the gateway's stream, not by the subgraph (whose error would carry serviceName).
    expect(result.errors![0]!.extensions).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'file',
      limit: GATEWAY_LIMIT,
    });
    expect(result.errors![0]!.extensions?.serviceName).toBeUndefined();
    expect(await imageCount(system, user.accessToken)).toBe(0);
    // The gateway is fine afterwards.
    const ok = await postChunked(system.gatewayUrl, user.accessToken, chunkedMultipart(noisePng(16, 16)));
    expect(ok.errors).toBeUndefined();
  });

  it('refuses an upload without a valid token before forwarding a byte of it', async () => {
    const before = await uploadedBytes(system);
    const anonymous = await uploadImage(
      system.gatewayUrl,
      undefined,
      noisePngOfSize(GATEWAY_LIMIT - 4096),
      'anon.png',
      {
        query: UPLOAD,
      },
    );
    expect(anonymous.errors).toEqual([
      {
        message: UNAUTHENTICATED_MESSAGES.TOKEN_MISSING,
        extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_MISSING' },
      },
    ]);
    const forged = await uploadImage(
      system.gatewayUrl,
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      noisePng(8, 8),
      'forged.png',
      {
        query: UPLOAD,
      },
    );
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await uploadedBytes(system)).toBe(before);
  });

  it('refuses one file mapped to two variables', async () => {
    const user = await system.auth.registerUser();
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query:
          'mutation ($a: Upload!, $b: Upload!) { a: uploadImage(file: $a) { id } b: uploadImage(file: $b) { id } }',
        variables: { a: null, b: null },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.a', 'variables.b'] }));
    form.append('0', new Blob([new Uint8Array(noisePng(8, 8))]), 'a.png');
    const response = await fetch(`${system.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'apollo-require-preflight': 'true' },
      body: form,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
    expect(await imageCount(system, user.accessToken)).toBe(0);
  });

  it.each(REFUSED_UPLOAD_FORMS)(
    'answers %s with %s, and so does the image subgraph for the same body',
    async (_label, code, options) => {
      const user = await system.auth.registerUser();
      const form = multipartUpload(noisePng(8, 8), { query: UPLOAD, ...options });
      const answers = [];
      for (const [service, url] of [
        ['gateway', system.gatewayUrl],
        ['subgraph-image', system.image.url],
      ]) {
        const result = await postMultipart(url!, user.accessToken, form);
        answers.push({ service, codes: codesOf(result) });
        // A request refused as unusable is refused with HTTP 400 too, by both; the gateway refuses
        // a form that is wrong about its file with 400 too, however far into the form it finds out.
        if (code === 'BAD_REQUEST' || service === 'gateway')
          expect({ service, status: result.status, text: result.text }).toEqual({
            service,
            status: 400,
            text: expect.any(String),
          });
      }
      expect(answers).toEqual([
        { service: 'gateway', codes: [code] },
        { service: 'subgraph-image', codes: [code] },
      ]);
      expect(await imageCount(system, user.accessToken)).toBe(0);
    },
  );

  it('answers BAD_USER_INPUT when the form ends inside the file', async () => {
    const user = await system.auth.registerUser();
    const whole = chunkedMultipart(noisePng(40, 40));
    const parts: Uint8Array[] = [];
    for (const reader = whole.getReader(); ; ) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    // Everything but the end of the file and the closing boundary.
    const body = Buffer.concat(parts);
    const cut = body.subarray(0, body.length - 2048);
    const response = await fetch(`${system.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'multipart/form-data; boundary=chunkedboundary',
        'apollo-require-preflight': 'true',
        authorization: `Bearer ${user.accessToken}`,
      },
      body: cut,
    });
    const result = (await response.json()) as { errors?: { extensions?: Record<string, unknown> }[] };
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await imageCount(system, user.accessToken)).toBe(0);
  });

  it('stops a stalled upload with 408 BAD_REQUEST', async () => {
    const user = await system.auth.registerUser();
    const { head, file, contentType } = multipartUpload(noisePng(40, 40), { query: UPLOAD });
    const url = new URL(`${system.gatewayUrl}/graphql`);
    // The form's start and 20 bytes of the file, then nothing: the client neither sends nor goes away.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(url, {
        method: 'POST',
        headers: {
          'content-type': contentType,
          'apollo-require-preflight': 'true',
          authorization: `Bearer ${user.accessToken}`,
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.write(Buffer.concat([head, file.subarray(0, 20)]));
    });
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toMatchObject({
      errors: [{ message: expect.stringMatching(/slower than/), extensions: { code: 'BAD_REQUEST' } }],
    });
    expect(await imageCount(system, user.accessToken)).toBe(0);
  });

  it('says a file cannot go into a variable that is not an Upload, without showing the stream', async () => {
    const user = await system.auth.registerUser();
    const form = multipartUpload(noisePng(8, 8), {
      operations: JSON.stringify({
        query: 'mutation($i: ID!) { deleteImage(id: $i) }',
        variables: { i: null },
      }),
      map: '{"0": ["variables.i"]}',
    });
    for (const url of [system.gatewayUrl, system.image.url]) {
      const result = await postMultipart(url, user.accessToken, form);
      expect(result.status).toBe(400);
      expect(result.errors).toEqual([
        {
          message: expect.stringMatching(/\$i .*file/),
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'file' }),
        },
      ]);
      expect(result.text).not.toMatch(/_readableState|_events|source/);
    }
  });

  it.each(['a/', '.', '..', '/', 'a\\\\', '  ', 'dir/..'])(
    'stores a file named %j under the fallback name, at the gateway and the image subgraph',
    async (filename) => {
      const user = await system.auth.registerUser();
      const form = multipartUpload(noisePng(8, 8), {
        query: 'mutation ($file: Upload!) { uploadImage(file: $file) { id filename } }',
        filename,
      });
      for (const url of [system.gatewayUrl, system.image.url]) {
        const result = await postMultipart(url, user.accessToken, form);
        expect({ errors: result.errors, data: result.data }).toEqual({
          errors: undefined,
          data: { uploadImage: { id: expect.any(String), filename: 'image.png' } },
        });
      }
    },
  );

  it.each([
    ['C:\\\\photos\\\\cat.png', 'cat.png'],
    ['../../etc/cat.png', 'cat.png'],
  ])('stores a file named %j by its last path component, %j', async (filename, stored) => {
    const user = await system.auth.registerUser();
    const form = multipartUpload(noisePng(8, 8), {
      query: 'mutation ($file: Upload!) { uploadImage(file: $file) { filename } }',
      filename,
    });
    const result = await postMultipart(system.gatewayUrl, user.accessToken, form);
    expect(result.data).toEqual({ uploadImage: { filename: stored } });
  });

  it('refuses a multipart request without the CSRF preflight header', async () => {
    const user = await system.auth.registerUser();
    const response = await fetch(`${system.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}` },
      body: uploadForm(UPLOAD, noisePng(8, 8), 'csrf.png', 'image/png'),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/CSRF|preflight/i);
    expect(await imageCount(system, user.accessToken)).toBe(0);
  });

  it('accepts one file per request only', async () => {
    const user = await system.auth.registerUser();
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.file'], 1: ['variables.other'] }));
    form.append('0', new Blob([new Uint8Array(noisePng(8, 8))]), 'a.png');
    form.append('1', new Blob([new Uint8Array(noisePng(8, 8))]), 'b.png');
    const mapped = await fetch(`${system.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'apollo-require-preflight': 'true' },
      body: form,
    });
    expect(mapped.status).toBe(400);
    expect(await mapped.json()).toMatchObject({ errors: [{ message: expect.stringMatching(/one file/i) }] });

    // A second file part that the map does not mention fails the upload too; nothing is stored.
    const sneaky = new FormData();
    sneaky.append('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    sneaky.append('map', JSON.stringify({ 0: ['variables.file'] }));
    sneaky.append('0', new Blob([new Uint8Array(noisePng(8, 8))]), 'a.png');
    sneaky.append('1', new Blob([new Uint8Array(noisePng(8, 8))]), 'b.png');
    // Refused as the mapped second file is, although the service only sees it once the first is on
    // its way: by the gateway, and by the image subgraph for the same form sent straight to it.
    for (const url of [system.gatewayUrl, system.image.url]) {
      const extra = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.accessToken}`, 'apollo-require-preflight': 'true' },
        body: sneaky,
      });
      expect({ url, status: extra.status, body: await extra.json() }).toMatchObject({
        url,
        status: 400,
        body: {
          errors: [
            {
              message: expect.stringMatching(/one file/i),
              extensions: { code: 'BAD_USER_INPUT', field: 'file' },
            },
          ],
        },
      });
    }
    expect(await imageCount(system, user.accessToken)).toBe(0);
  });

  it('keeps working after a client abandons an upload midway', async () => {
    const user = await system.auth.registerUser();
    const controller = new AbortController();
    const file = noisePngOfSize(GATEWAY_LIMIT - 4096);
    let sent = 0;
    const body = chunkedMultipart(file, 4096);
    const reader = body.getReader();
    const slow = new ReadableStream<Uint8Array>({
      async pull(c) {
        const { value, done } = await reader.read();
        if (done) return c.close();
        sent += value.length;
        if (sent > file.length / 2) {
          controller.abort();
          return c.error(new Error('client gave up'));
        }
        c.enqueue(value);
      },
    });
    await expect(
      fetch(`${system.gatewayUrl}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'multipart/form-data; boundary=chunkedboundary',
          'apollo-require-preflight': 'true',
          authorization: `Bearer ${user.accessToken}`,
        },
        body: slow,
        duplex: 'half',
        signal: controller.signal,
      } as RequestInit),
    ).rejects.toThrow();
    const ok = await uploadImage(system.gatewayUrl, user.accessToken, noisePng(10, 10), 'after.png', {
      query: UPLOAD,
    });
    expect(ok.errors).toBeUndefined();
    expect(await imageCount(system, user.accessToken)).toBe(1);
  });
});

describe('upload slots through the gateway', () => {
  let system: RunningSystem;

  beforeAll(async () => {
    // One upload at a time per user, as a browser meets the default two when it sends two at once.
    system = await startSystem({
      gatewayEnv: { MAX_UPLOAD_BYTES: String(GATEWAY_LIMIT), UPLOAD_SLOTS_PER_USER: '1' },
    });
  });
  afterAll(async () => {
    await system?.close();
  });

  it('gives a refused upload its slot back with the refusal, not once the client stops sending', async () => {
    const user = await system.auth.registerUser();
    // Declared too large: refused at once, while the client (a browser mid-file) is still sending.
    const { head, contentType } = multipartUpload(noisePng(8, 8), { query: UPLOAD, filename: 'big.png' });
    const socket = net.connect(Number(new URL(system.gatewayUrl).port), '127.0.0.1');
    const refused = new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (/\r\n\r\n[\s\S]*\}\]\}/.test(text)) resolve(text);
      });
      socket.on('error', reject);
    });
    socket.write(
      [
        'POST /graphql HTTP/1.1',
        'Host: 127.0.0.1',
        `Content-Type: ${contentType}`,
        `Content-Length: ${GATEWAY_LIMIT * 10}`,
        'Apollo-Require-Preflight: true',
        `Authorization: Bearer ${user.accessToken}`,
        '',
        '',
      ].join('\r\n'),
    );
    socket.write(head);
    try {
      expect(await refused).toMatch(/^HTTP\/1\.1 413 [\s\S]*PAYLOAD_TOO_LARGE/);
      // The browser moves on to the next file at once; the first connection is still open.
      const next = await uploadImage(system.gatewayUrl, user.accessToken, noisePng(10, 10), 'next.png', {
        query: UPLOAD,
      });
      expect(codesOf(next)).toEqual([]);
    } finally {
      socket.destroy();
    }
  });
});
