import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

function chunk(kind: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(kind, 'latin1'), data]);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, checksum]);
}

/**
 * A valid RGB PNG of random pixels. Random pixels don't compress, so `level 0` (stored) deflate
 * gives a file of predictable size, and each call gives different bytes: the image subgraph
 * deduplicates blobs by hash, so repeated uploads of one file would measure less work.
 */
export function noisePng(width: number, height: number, level = 0): Buffer {
  const rowBytes = width * 3 + 1;
  const raw = randomBytes(rowBytes * height);
  // Filter byte 0 (None) at the start of every row.
  for (let y = 0; y < height; y++) raw[y * rowBytes] = 0;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A noise PNG whose file size is close to (at least) `bytes`, 1024 pixels wide. */
export function noisePngOfSize(bytes: number): Buffer {
  const width = 1024;
  const height = Math.max(1, Math.ceil(bytes / (width * 3 + 1)));
  return noisePng(width, height);
}

/** One GraphQL multipart request (operations, map, file part `0`) uploading `file`. */
export function multipartUpload(file: Buffer, filename: string): { body: Buffer; contentType: string } {
  const boundary = `----imagehub-bench-${randomBytes(8).toString('hex')}`;
  const operations = JSON.stringify({
    query: 'mutation Upload($file: Upload!) { uploadImage(file: $file) { id url } }',
    variables: { file: null },
  });
  const head = [
    `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.file"]}\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="${filename}"\r\nContent-Type: image/png\r\n\r\n`,
  ].join('');
  return {
    body: Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}
