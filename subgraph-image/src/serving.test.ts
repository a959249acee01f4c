import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { UrlSigner } from './signing';
import { makePng } from './test-images';
import {
  createTestTokens,
  graphql,
  type RunningImageService,
  startImageService,
  uploadImage,
} from './test-support';

const tokens = createTestTokens();
const owner = randomUUID();
const token = tokens.mint(owner);
const TTL = 600;
let service: RunningImageService;
let image: { id: string; url: string; thumbnailUrl: string; sha256: string; byteSize: number };

beforeAll(async () => {
  service = await startImageService({ publicKeys: tokens.jwks, env: { SIGNED_URL_TTL: String(TTL) } });
  await service.createUser(owner);
  const result = await uploadImage<{ uploadImage: typeof image }>(
    service.url,
    token,
    await makePng(300, 200, 71),
    'Ferien am Meer – Страна.png',
    {
      query: 'mutation($file: Upload!) { uploadImage(file: $file) { id url thumbnailUrl sha256 byteSize } }',
    },
  );
  expect(result.errors).toBeUndefined();
  image = result.data!.uploadImage;
});

afterAll(() => service?.close());

const signer = () => service.server.services.signer;

describe('GET /images/:id/:variant', () => {
  it('serves the bytes with type, validator, private caching bounded by the link, and no sniffing', async () => {
    expect(image.url.startsWith(`${service.url}/images/${image.id}/original?exp=`)).toBe(true);
    const response = await fetch(image.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('etag')).toBe(`"${image.sha256}"`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(response.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(TTL);
    expect(response.headers.get('content-disposition')).toBe(
      `inline; filename="Ferien am Meer _ ______.png"; filename*=UTF-8''${encodeURIComponent('Ferien am Meer – Страна.png')}`,
    );
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBe(image.byteSize);
  });

  it('serves the thumbnail as WebP under its own name', async () => {
    const response = await fetch(image.thumbnailUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect(response.headers.get('content-disposition')).toContain(
      encodeURIComponent('Ferien am Meer – Страна-thumbnail.webp'),
    );
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([256, 171]);
  });

  it('answers 304 when If-None-Match holds the ETag (strong, weak or in a list)', async () => {
    for (const header of [`"${image.sha256}"`, `W/"${image.sha256}"`, `"nope", "${image.sha256}"`, '*']) {
      const response = await fetch(image.url, { headers: { 'if-none-match': header } });
      expect(response.status).toBe(304);
      expect(response.headers.get('etag')).toBe(`"${image.sha256}"`);
      expect(await response.text()).toBe('');
    }
    expect((await fetch(image.url, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
  });

  it('answers HEAD without a body', async () => {
    const response = await fetch(image.url, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(image.byteSize));
  });

  it('limits max-age to what is left of the signature', async () => {
    const url = signer().url(image.id, 'original', signer().nowSec() + 30);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeLessThanOrEqual(30);
  });

  it('refuses tampered signatures with 403', async () => {
    const url = new URL(image.url);
    const sig = url.searchParams.get('sig')!;
    const exp = url.searchParams.get('exp')!;
    const variants = [
      { exp, sig: `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}` },
      { exp: String(Number(exp) + 3600), sig },
      { exp, sig: '' },
      { exp: '', sig },
      { exp: 'soon', sig },
      { exp, sig: `${sig}${sig}` },
    ];
    for (const params of variants) {
      const tampered = new URL(url);
      tampered.search = new URLSearchParams(params).toString();
      expect((await fetch(tampered)).status).toBe(403);
    }
    const noQuery = new URL(url);
    noQuery.search = '';
    expect((await fetch(noQuery)).status).toBe(403);
  });

  it('refuses an expired link with 403, even with a correct signature', async () => {
    const expired = signer().url(image.id, 'original', signer().nowSec() - 1);
    const response = await fetch(expired);
    expect(response.status).toBe(403);
    expect(await response.text()).toBe('Link expired');
  });

  it('refuses a link signed with another key', async () => {
    const forger = new UrlSigner(Buffer.alloc(32, 1), service.url, 600);
    expect((await fetch(forger.url(image.id, 'original'))).status).toBe(403);
  });

  it('answers 404 once the image is deleted, for both variants', async () => {
    const other = await uploadImage<{ uploadImage: typeof image }>(
      service.url,
      token,
      await makePng(20, 20, 72),
      'gone.png',
      {
        query: 'mutation($file: Upload!) { uploadImage(file: $file) { id url thumbnailUrl } }',
      },
    );
    const doomed = other.data!.uploadImage;
    expect((await fetch(doomed.url)).status).toBe(200);
    const deleted = await graphql(
      service.url,
      'mutation($id: ID!) { deleteImage(id: $id) }',
      { id: doomed.id },
      token,
    );
    expect(deleted.data).toEqual({ deleteImage: true });
    expect((await fetch(doomed.url)).status).toBe(404);
    expect((await fetch(doomed.thumbnailUrl)).status).toBe(404);
    const again = await graphql(
      service.url,
      'mutation($id: ID!) { deleteImage(id: $id) }',
      { id: doomed.id },
      token,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('answers 403 for a variant that does not exist', async () => {
    const url = new URL(image.url);
    url.pathname = `/images/${image.id}/full`;
    expect((await fetch(url)).status).toBe(403);
  });
});
