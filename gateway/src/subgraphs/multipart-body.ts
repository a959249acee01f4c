import type { StreamedUpload } from '../uploads/upload';

/**
 * The GraphQL multipart request, written as it is sent: the operations and map parts, then the
 * file's bytes as they arrive from the client. Only one chunk of the file is in hand at a time.
 */
export async function* encodeMultipart(
  boundary: string,
  payload: { variables?: Record<string, unknown> } & Record<string, unknown>,
  uploads: { upload: StreamedUpload; path: (string | number)[] }[],
): AsyncGenerator<Buffer> {
  const map: Record<string, string[]> = {};
  uploads.forEach(({ path }, index) => {
    map[String(index)] = [['variables', ...path].join('.')];
  });
  // Files become null in the operations, as the spec says; the map says where they go.
  const operations = JSON.stringify(payload, (_key, value) =>
    uploads.some(({ upload }) => upload === value) ? null : value,
  );
  const crlf = '\r\n';
  yield Buffer.from(
    `--${boundary}${crlf}Content-Disposition: form-data; name="operations"${crlf}Content-Type: application/json${crlf}${crlf}` +
      `${operations}${crlf}--${boundary}${crlf}Content-Disposition: form-data; name="map"${crlf}${crlf}` +
      `${JSON.stringify(map)}${crlf}`,
  );
  for (const [index, { upload }] of uploads.entries()) {
    yield Buffer.from(
      `--${boundary}${crlf}Content-Disposition: form-data; name="${index}"; filename="${headerSafe(upload.filename)}"${crlf}` +
        `Content-Type: ${headerSafe(upload.mimetype) || 'application/octet-stream'}${crlf}${crlf}`,
    );
    const stream = upload.take();
    for await (const chunk of stream) {
      yield chunk as Buffer;
    }
    yield Buffer.from(crlf);
  }
  yield Buffer.from(`--${boundary}--${crlf}`);
}

/**
 * Keeps a client-chosen name from breaking out of its quoted header parameter. A backslash is a
 * path separator to the image subgraph, as "/" is: it goes as "/", which needs no escaping.
 */
function headerSafe(value: string): string {
  return value.replace(/\\/g, '/').replace(/["\r\n]/g, (c) => encodeURIComponent(c));
}
