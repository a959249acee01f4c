import busboy from 'busboy';
import { noisePng, noisePngOfSize, pixelBombPng } from './images';
import { multipartUpload } from './multipart';
import { inspectPng } from './png-check';

function parseMultipart(body: Buffer, contentType: string) {
  return new Promise<{
    fields: Record<string, string>;
    files: Array<{ name: string; filename: string; data: Buffer }>;
  }>((resolve, reject) => {
    const fields: Record<string, string> = {};
    const files: Array<{ name: string; filename: string; data: Buffer }> = [];
    const parser = busboy({ headers: { 'content-type': contentType } });
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () =>
        files.push({ name, filename: info.filename ?? '', data: Buffer.concat(chunks) }),
      );
    });
    parser.on('close', () => resolve({ fields, files }));
    parser.on('error', reject);
    parser.end(body);
  });
}

describe('generated upload images', () => {
  it('are valid PNGs of the requested dimensions', () => {
    expect(inspectPng(noisePng(64, 48, 6))).toEqual({ width: 64, height: 48 });
  });

  it('differ on every call, so the image subgraph cannot deduplicate them', () => {
    expect(noisePng(16, 16).equals(noisePng(16, 16))).toBe(false);
  });

  it('reach the requested file size without exceeding it by more than one row', () => {
    const target = 5 * 1024 * 1024;
    const png = noisePngOfSize(target);
    expect(png.length).toBeGreaterThanOrEqual(target);
    expect(png.length).toBeLessThan(target + 1024 * 3 + 1 + 4096);
    expect(inspectPng(png).width).toBe(1024);
    const small = noisePngOfSize(60_000);
    expect(small.length).toBeGreaterThanOrEqual(60_000);
    expect(inspectPng(small)).toEqual({ width: 142, height: 141 });
  });

  it('make a pixel bomb that claims its size in a few kB, with valid chunk CRCs', () => {
    const bomb = pixelBombPng();
    expect(bomb.length).toBeLessThan(8 * 1024);
    expect(bomb.readUInt32BE(16)).toBe(50_000);
    expect(bomb.readUInt32BE(20)).toBe(50_000);
    expect(() => inspectPng(bomb)).toThrow(/pixel data/);
  });
});

describe('multipartUpload', () => {
  it('follows the GraphQL multipart request spec: operations, map, then the file', async () => {
    const file = noisePng(8, 8);
    const { body, contentType } = multipartUpload(file, { filename: 'x.png' });
    const parsed = await parseMultipart(body, contentType);
    const operations = JSON.parse(parsed.fields.operations as string);
    expect(operations.variables).toEqual({ file: null });
    expect(operations.query).toContain('uploadImage(file: $file)');
    expect(JSON.parse(parsed.fields.map as string)).toEqual({ 0: ['variables.file'] });
    expect(parsed.files).toHaveLength(1);
    expect(parsed.files[0]?.filename).toBe('x.png');
    expect(parsed.files[0]?.data.equals(file)).toBe(true);
    // The spec requires operations and map before any file part.
    expect(body.indexOf('name="map"')).toBeLessThan(body.indexOf('name="0"'));
  });

  it('splits into head, file and tail, so a test can stream or cut the body', () => {
    const file = noisePng(4, 4);
    const upload = multipartUpload(file, { boundary: 'b0undary' });
    expect(Buffer.concat([upload.head, upload.file, upload.tail]).equals(upload.body)).toBe(true);
    expect(upload.contentType).toBe('multipart/form-data; boundary=b0undary');
    expect(upload.tail.toString()).toBe('\r\n--b0undary--\r\n');
  });
});
