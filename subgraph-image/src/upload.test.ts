import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { migrateLatest } from '@imagehub/db';
import { createScratchDatabase } from '@imagehub/db/test-support';
import {
  codesOf,
  htmlAsPng,
  multipartUpload,
  pixelBombPng,
  pngSignatureThenGarbage,
  postMultipart,
  REFUSED_UPLOAD_FORMS,
  svgWithScript,
  uploadForm,
} from '@imagehub/test-kit';
import sharp from 'sharp';
import { makeAnimatedGif, makeAvif, makeJpeg, makeJpegWithGps, makePng, makeWebp } from './test-images';
import {
  createTestTokens,
  graphql,
  type RunningImageService,
  startImageService,
  type UploadedImage,
  uploadImage,
} from './test-support';

const MAX_UPLOAD_BYTES = 300_000;
const MAX_IMAGE_PIXELS = 4_000_000;

// A database of its own, so "nothing was stored" can be checked by counting every row and blob.
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let service: RunningImageService;
const tokens = createTestTokens();
const userId = randomUUID();
const token = tokens.mint(userId);

beforeAll(async () => {
  scratch = await createScratchDatabase();
  await migrateLatest(scratch.db);
  service = await startImageService({
    publicKeys: tokens.jwks,
    env: {
      DATABASE_URL: scratch.url,
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      MAX_IMAGE_PIXELS: String(MAX_IMAGE_PIXELS),
    },
  });
  await service.createUser(userId);
});

afterAll(async () => {
  await service?.close();
  await scratch?.drop();
});

async function counts() {
  const [images] = await scratch.db('image.images').count<{ count: string }[]>('* as count');
  const [blobs] = await scratch.db('image.blobs').count<{ count: string }[]>('* as count');
  return { images: Number(images!.count), blobs: Number(blobs!.count) };
}

async function upload(bytes: Uint8Array, filename: string, declaredType?: string) {
  const result = await uploadImage<{ uploadImage: UploadedImage }>(service.url, token, bytes, filename, {
    declaredType,
  });
  return result;
}

async function fetchBytes(url: string) {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

describe('accepted formats', () => {
  const cases: [string, () => Promise<Buffer>, string, string][] = [
    ['JPEG', () => makeJpeg(64, 48, 11), 'photo.jpg', 'jpeg'],
    ['PNG', () => makePng(64, 48, 12), 'drawing.png', 'png'],
    ['WebP', () => makeWebp(64, 48, 13), 'pic.webp', 'webp'],
    ['GIF', () => makeAnimatedGif(32, 24, 3), 'anim.gif', 'gif'],
    ['AVIF', () => makeAvif(64, 48, 14), 'modern.avif', 'heif'],
  ];

  it.each(cases)(
    'stores a %s, detected from its bytes, with a WebP thumbnail',
    async (label, make, name, sharpFormat) => {
      const input = await make();
      // The declared type is a lie on purpose: only the bytes count.
      const result = await upload(input, name, 'text/plain');
      expect(result.errors).toBeUndefined();
      const image = result.data!.uploadImage;
      const expectedType = {
        JPEG: 'image/jpeg',
        PNG: 'image/png',
        WebP: 'image/webp',
        GIF: 'image/gif',
        AVIF: 'image/avif',
      }[label];
      expect(image.contentType).toBe(expectedType);
      expect(image.filename).toBe(name);
      expect(image.owner).toEqual({ id: userId });
      expect(image.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(new Date(image.createdAt).toISOString()).toBe(image.createdAt);

      const { response, bytes } = await fetchBytes(image.url);
      expect(response.headers.get('content-type')).toBe(expectedType);
      expect(bytes.length).toBe(image.byteSize);
      const served = await sharp(bytes, { animated: true }).metadata();
      expect(served.format).toBe(sharpFormat);
      expect(served.width).toBe(image.width);
      expect(served.pageHeight ?? served.height).toBe(image.height);
      if (label === 'GIF') expect(served.pages).toBe(3);

      const thumb = await fetchBytes(image.thumbnailUrl);
      expect(thumb.response.headers.get('content-type')).toBe('image/webp');
      const thumbMeta = await sharp(thumb.bytes).metadata();
      expect(thumbMeta.format).toBe('webp');
      expect(Math.max(thumbMeta.width!, thumbMeta.height!)).toBeLessThanOrEqual(256);
    },
  );

  it('shrinks large images to a thumbnail whose longest side is 256 px', async () => {
    const result = await upload(await makeJpeg(1200, 600, 15), 'wide.jpg');
    const image = result.data!.uploadImage;
    expect([image.width, image.height]).toEqual([1200, 600]);
    const thumb = await sharp((await fetchBytes(image.thumbnailUrl)).bytes).metadata();
    expect([thumb.width, thumb.height]).toEqual([256, 128]);
  });
});

describe('privacy', () => {
  it('serves a GPS-tagged, rotated JPEG with no metadata and the orientation applied', async () => {
    const input = await makeJpegWithGps(80, 40);
    const before = await sharp(input).metadata();
    expect(before.exif).toBeDefined();
    expect(before.orientation).toBe(6);
    expect(hasGpsIfd(before.exif!)).toBe(true);

    const image = (await upload(input, 'IMG_0001.jpg')).data!.uploadImage;
    // Orientation 6 means "turn 90°": the stored pixels are upright, so width and height swap.
    expect([image.width, image.height]).toEqual([40, 80]);
    for (const url of [image.url, image.thumbnailUrl]) {
      const served = await sharp((await fetchBytes(url)).bytes).metadata();
      expect(served.exif).toBeUndefined();
      expect(served.xmp).toBeUndefined();
      expect(served.iptc).toBeUndefined();
      expect(served.orientation).toBeUndefined();
    }
    const served = await sharp((await fetchBytes(image.url)).bytes).metadata();
    expect([served.width, served.height]).toEqual([40, 80]);
  });
});

describe('hostile and broken files', () => {
  const truncatedJpeg = async () => {
    const jpeg = await makeJpeg(200, 200, 21);
    return jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
  };
  const cases: [string, () => Promise<Buffer> | Buffer, string, string][] = [
    ['an SVG with a script', svgWithScript, 'image.svg', 'BAD_USER_INPUT'],
    ['an SVG renamed .png', svgWithScript, 'image.png', 'BAD_USER_INPUT'],
    ['HTML renamed .png', htmlAsPng, 'cat.png', 'BAD_USER_INPUT'],
    ['a PNG signature followed by garbage', pngSignatureThenGarbage, 'x.png', 'BAD_USER_INPUT'],
    ['a zero-byte file', () => Buffer.alloc(0), 'empty.jpg', 'BAD_USER_INPUT'],
    ['a truncated JPEG', truncatedJpeg, 'cut.jpg', 'BAD_USER_INPUT'],
    ['a TIFF (decodable, but not allowed)', () => solidTiff(), 'scan.tif', 'BAD_USER_INPUT'],
    [
      'a pixel bomb (PNG header claiming 50000x50000)',
      () => pixelBombPng(50_000, 50_000),
      'bomb.png',
      'PAYLOAD_TOO_LARGE',
    ],
    ['an image just over the pixel limit', () => makePng(2001, 2000, 22), 'big.png', 'PAYLOAD_TOO_LARGE'],
    [
      'a file over the size limit',
      () => Buffer.alloc(MAX_UPLOAD_BYTES + 1, 7),
      'huge.jpg',
      'PAYLOAD_TOO_LARGE',
    ],
  ];

  it.each(cases)('refuses %s with its code and stores nothing', async (_label, make, filename, code) => {
    const before = await counts();
    const result = await upload(await make(), filename, 'image/png');
    expect(result.data?.uploadImage ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe(code);
    expect(result.errors?.[0]?.extensions?.field).toBe('file');
    expect(await counts()).toEqual(before);
  });

  it('refuses a request whose declared length is far over the limit before reading it', async () => {
    const before = await counts();
    const result = await upload(Buffer.alloc(MAX_UPLOAD_BYTES * 2, 1), 'huge.bin');
    expect(result.status).toBe(413);
    expect(result.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await counts()).toEqual(before);
  });

  it('accepts a file of exactly the limit and refuses one byte more (the count is exact)', async () => {
    // libpng ignores bytes after IEND, which lets the test hit the limit to the byte.
    const png = await makePng(20, 20, 23);
    const exact = Buffer.concat([png, Buffer.alloc(MAX_UPLOAD_BYTES - png.length)]);
    expect(exact.length).toBe(MAX_UPLOAD_BYTES);
    expect((await upload(exact, 'exact.png')).errors).toBeUndefined();
    const before = await counts();
    const over = await upload(Buffer.concat([exact, Buffer.alloc(1)]), 'over.png');
    expect(over.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    // Found while reading the file, and still 413, as the gateway answers a file over its limit.
    expect(over.status).toBe(413);
    expect(await counts()).toEqual(before);
  });
});

describe('multipart request checks', () => {
  it('refuses a multipart request without the CSRF preflight header, before reading the file', async () => {
    const before = await counts();
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: uploadForm(
        'mutation($file: Upload!) { uploadImage(file: $file) { id } }',
        await makeJpeg(16, 16, 31),
        'a.jpg',
      ),
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toMatch(/Cross-Site Request Forgery/);
    expect(await counts()).toEqual(before);
  });

  it('refuses an upload without a token, or with a bad one, as UNAUTHENTICATED', async () => {
    const before = await counts();
    const jpeg = await makeJpeg(16, 16, 32);
    for (const bad of [undefined, 'not-a-jwt', tokens.mint(userId, {}, { expiresIn: -60 })]) {
      const result = await uploadImage(service.url, bad, jpeg, 'a.jpg');
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    expect(await counts()).toEqual(before);
  });

  it('stores nothing for a validly signed token whose user does not exist, or whose subject is no user id', async () => {
    const before = await counts();
    const jpeg = await makeJpeg(16, 16, 33);
    for (const bad of [tokens.mint(randomUUID()), tokens.mint('admin')]) {
      const result = await uploadImage(service.url, bad, jpeg, 'a.jpg');
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    }
    expect(await counts()).toEqual(before);
  });

  it('reads the rest of a refused upload before answering, so a proxy still sending gets the answer', async () => {
    const expired = tokens.mint(userId, {}, { expiresIn: -60 });
    const boundary = 'refused-upload-boundary';
    const operations = JSON.stringify({
      query: 'mutation($f: Upload!) { uploadImage(file: $f) { id } }',
      variables: { f: null },
    });
    const head =
      `--${boundary}\r\ncontent-disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="map"\r\n\r\n{"0":["variables.f"]}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="0"; filename="a.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    // Within the limit, sent in pieces the way a proxy streams it on.
    const piece = Buffer.alloc(Math.floor(MAX_UPLOAD_BYTES / 8), 7);
    const length = Buffer.byteLength(head) + 8 * piece.length + Buffer.byteLength(tail);
    const answer = await new Promise<{ status?: number; connection?: string; body: string; error?: Error }>(
      (resolve) => {
        const request = http.request(`${service.url}/graphql`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${expired}`,
            'apollo-require-preflight': 'true',
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': String(length),
          },
        });
        request.on('response', (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () =>
            resolve({ status: response.statusCode, connection: response.headers.connection, body }),
          );
        });
        request.on('error', (error) => resolve({ body: '', error }));
        void (async () => {
          request.write(head);
          for (let i = 0; i < 8; i++) {
            await new Promise((done) => setTimeout(done, 10));
            request.write(piece);
          }
          request.end(tail);
        })();
      },
    );
    expect(answer.error).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(answer.connection).not.toBe('close');
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses two files in one request', async () => {
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: 'mutation($a: Upload!) { uploadImage(file: $a) { id } }',
        variables: { a: null },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.a'], 1: ['variables.a'] }));
    form.append('0', new Blob([await makeJpeg(8, 8, 33)]), 'a.jpg');
    form.append('1', new Blob([await makeJpeg(8, 8, 34)]), 'b.jpg');
    const before = await counts();
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
      body: form,
    });
    // One file too many is the request's mistake, not its size: the gateway's answer, field and all.
    expect(response.status).toBe(400);
    expect((await response.json()).errors[0]).toMatchObject({
      message: 'Only one file per request is accepted',
      extensions: { code: 'BAD_USER_INPUT', field: 'file' },
    });
    expect(await counts()).toEqual(before);
  });

  it('refuses a JSON request that passes no real upload', async () => {
    const result = await graphql(
      service.url,
      'mutation($file: Upload!) { uploadImage(file: $file) { id } }',
      { file: 'not-a-file' },
      token,
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('malformed multipart bodies', () => {
  it.each(REFUSED_UPLOAD_FORMS)('refuses %s as %s, as the gateway does', async (_label, code, options) => {
    const before = await counts();
    const result = await postMultipart(
      service.url,
      token,
      multipartUpload(await makeJpeg(8, 8, 36), options),
    );
    expect(codesOf(result)).toEqual([code]);
    // Unusable requests are refused before the upload starts, with HTTP 400.
    if (code === 'BAD_REQUEST') expect(result.status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('refuses a part header with a control character without crashing the service', async () => {
    const before = await counts();
    const result = await upload(await makeJpeg(8, 8, 35), 'bell\u0007.jpg');
    expect(result.data?.uploadImage ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });

  it('refuses a body cut off in the middle of the file', async () => {
    const { head, contentType } = multipartUpload(Buffer.from('half a file and no closing boundary'), {
      query: 'mutation($file: Upload!) { uploadImage(file: $file) { id } }',
      filename: 'a.jpg',
      contentType: 'image/jpeg',
    });
    const body = Buffer.concat([head, Buffer.from('half a file and no closing boundary')]);
    const before = await counts();
    const result = await postMultipart(service.url, token, { body, contentType });
    expect(codesOf(result)).toEqual(['BAD_USER_INPUT']);
    expect(await counts()).toEqual(before);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});

describe('deduplication', () => {
  it('stores the same bytes once, and deleting one image keeps the blob the other still uses', async () => {
    const bytes = await makePng(50, 50, 41);
    const before = await counts();
    const first = (await upload(bytes, 'one.png')).data!.uploadImage;
    const second = (await upload(bytes, 'two.png')).data!.uploadImage;
    expect(second.id).not.toBe(first.id);
    expect(second.sha256).toBe(first.sha256);
    // Two image rows, but only two new blobs (original + thumbnail), not four.
    expect(await counts()).toEqual({ images: before.images + 2, blobs: before.blobs + 2 });

    const deleted = await graphql(
      service.url,
      'mutation($id: ID!) { deleteImage(id: $id) }',
      { id: first.id },
      token,
    );
    expect(deleted.data).toEqual({ deleteImage: true });
    expect(await counts()).toEqual({ images: before.images + 1, blobs: before.blobs + 2 });
    expect((await fetch(first.url)).status).toBe(404);
    expect((await fetch(second.url)).status).toBe(200);
    expect((await fetch(second.thumbnailUrl)).status).toBe(200);

    await graphql(service.url, 'mutation($id: ID!) { deleteImage(id: $id) }', { id: second.id }, token);
    expect(await counts()).toEqual(before);
    expect((await fetch(second.url)).status).toBe(404);
  });

  it('keeps reference counts right when the same bytes are uploaded and deleted concurrently', async () => {
    const bytes = await makePng(40, 40, 42);
    const before = await counts();
    const keeper = (await upload(bytes, 'keeper.png')).data!.uploadImage;
    const uploads = await Promise.all([1, 2, 3, 4].map((i) => upload(bytes, `copy${i}.png`)));
    const ids = uploads.map((r) => r.data!.uploadImage.id);
    await Promise.all(
      ids.map((id) => graphql(service.url, 'mutation($id: ID!) { deleteImage(id: $id) }', { id }, token)),
    );
    expect(await counts()).toEqual({ images: before.images + 1, blobs: before.blobs + 2 });
    const [blob] = await scratch.db('image.blobs').where({ sha256: keeper.sha256 }).select('ref_count');
    expect(blob.ref_count).toBe(1);
    expect((await fetch(keeper.url)).status).toBe(200);
  });
});

describe('filenames', () => {
  it('keeps only the last path component, drops control characters, and caps at 255 bytes', async () => {
    const jpeg = await makeJpeg(8, 8, 51);
    const a = (await upload(jpeg, '..\\..\\etc/pass\twd.jpg')).data!.uploadImage;
    expect(a.filename).toBe('passwd.jpg');
    const long = `${'é'.repeat(200)}.jpg`;
    const b = (await upload(jpeg, long)).data!.uploadImage;
    expect(Buffer.byteLength(b.filename, 'utf8')).toBeLessThanOrEqual(255);
    expect(b.filename.startsWith('éé')).toBe(true);
    expect(b.filename.endsWith('é.jpg')).toBe(true);
  });
});

function hasGpsIfd(exif: Buffer): boolean {
  // The GPS IFD pointer tag is 0x8825, written in the TIFF header's byte order.
  return exif.includes(Buffer.from([0x88, 0x25])) || exif.includes(Buffer.from([0x25, 0x88]));
}

function solidTiff(): Promise<Buffer> {
  return sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
    .tiff()
    .toBuffer();
}
