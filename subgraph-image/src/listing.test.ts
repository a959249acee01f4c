import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createDb, type Knex } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { makeJpeg } from './test-images';
import {
  createTestTokens,
  graphql,
  type RunningImageService,
  startImageService,
  uploadImage,
} from './test-support';

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: { id: string; createdAt: string } }[];
}

const PAGE = `query($first: Int, $after: String) {
  myImages(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id createdAt } } }
}`;

const tokens = createTestTokens();
let service: RunningImageService;
let db: Knex;

beforeAll(async () => {
  service = await startImageService({ publicKeys: tokens.jwks });
  db = createDb({ url: testDatabaseUrl(), applicationName: 'listing-test', poolMax: 2 });
});

afterAll(async () => {
  await service?.close();
  await db?.destroy();
});

async function uploadMany(token: string, count: number, seedBase: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const result = await uploadImage<{ uploadImage: { id: string } }>(
      service.url,
      token,
      await makeJpeg(16, 16, seedBase + i),
      `p${i}.jpg`,
      { query: 'mutation($file: Upload!) { uploadImage(file: $file) { id } }' },
    );
    ids.push(result.data!.uploadImage.id);
  }
  return ids;
}

async function page(token: string, first?: number | null, after?: string | null) {
  return graphql<{ myImages: Page }>(service.url, PAGE, { first, after }, token);
}

async function walk(token: string, first: number) {
  const seen: string[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const result = await page(token, first, after);
    expect(result.errors).toBeUndefined();
    const { edges, pageInfo, totalCount } = result.data!.myImages;
    seen.push(...edges.map((e) => e.node.id));
    pages++;
    expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
    if (!pageInfo.hasNextPage) return { seen, pages, totalCount };
    after = pageInfo.endCursor;
    expect(pages).toBeLessThan(50);
  }
}

describe('myImages', () => {
  it('lists newest first, page by page, each image exactly once', async () => {
    const owner = await service.createUser();
    const token = tokens.mint(owner);
    const ids = await uploadMany(token, 5, 100);
    // Distinct, known times, so "newest first" is checked against something certain.
    for (const [i, id] of ids.entries()) {
      await db('image.images')
        .where({ id })
        .update({ created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) });
    }
    const { seen, pages, totalCount } = await walk(token, 2);
    expect(seen).toEqual([...ids].reverse());
    expect(pages).toBe(3);
    expect(totalCount).toBe(5);
  });

  it('keeps a stable, complete order when timestamps tie', async () => {
    const owner = await service.createUser();
    const token = tokens.mint(owner);
    const ids = await uploadMany(token, 7, 200);
    await db('image.images')
      .whereIn('id', ids)
      .update({ created_at: new Date('2026-02-02T02:02:02.002Z') });
    const { seen } = await walk(token, 3);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    expect(seen).toEqual([...ids].sort().reverse());
    expect((await walk(token, 2)).seen).toEqual(seen);
  });

  it('returns only totalCount for first: 0, and refuses a negative first', async () => {
    const token = tokens.mint(await service.createUser());
    await uploadMany(token, 2, 300);
    const zero = await page(token, 0);
    expect(zero.data!.myImages).toEqual({
      totalCount: 2,
      pageInfo: { hasNextPage: true, endCursor: null },
      edges: [],
    });
    const negative = await page(token, -1);
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('caps first at 100 and defaults to 20', async () => {
    const owner = await service.createUser();
    const token = tokens.mint(owner);
    await seedRows(owner, 105);
    const capped = (await page(token, 1000)).data!.myImages;
    expect(capped.edges).toHaveLength(100);
    expect(capped.pageInfo.hasNextPage).toBe(true);
    expect(capped.totalCount).toBe(105);
    const rest = (await page(token, 1000, capped.pageInfo.endCursor)).data!.myImages;
    expect(rest.edges).toHaveLength(5);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect((await page(token, null)).data!.myImages.edges).toHaveLength(20);
  });

  it('refuses a cursor it did not make', async () => {
    const token = tokens.mint(await service.createUser());
    for (const after of [
      'garbage!',
      Buffer.from('2026-01-01|not-a-uuid').toString('base64url'),
      // Dates JavaScript accepts but Postgres' timestamps cannot hold, or not in the cursor's form.
      Buffer.from(`-271821-04-20T00:00:00.000Z|${randomUUID()}`).toString('base64url'),
      Buffer.from(`+275760-09-13T00:00:00.000Z|${randomUUID()}`).toString('base64url'),
      Buffer.from(`2026-01-01|${randomUUID()}`).toString('base64url'),
      'x'.repeat(500),
    ]) {
      const result = await page(token, 5, after);
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
  });
});

describe('User.images', () => {
  it("pages through the caller's own images like myImages", async () => {
    const owner = await service.createUser();
    const token = tokens.mint(owner);
    const ids = await uploadMany(token, 3, 400);
    const query = `query($reps: [_Any!]!, $after: String) { _entities(representations: $reps) {
      ... on User { images(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } } }`;
    const reps = [{ __typename: 'User', id: owner }];
    type Result = { _entities: { images: Page }[] };
    const first = (await graphql<Result>(service.url, query, { reps }, token)).data!._entities[0]!.images;
    expect(first.totalCount).toBe(3);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (
      await graphql<Result>(service.url, query, { reps, after: first.pageInfo.endCursor }, token)
    ).data!._entities[0]!.images;
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect([...first.edges, ...second.edges].map((e) => e.node.id).sort()).toEqual([...ids].sort());
  });
});

/** Rows straight into the tables (with a consistent reference count), for counts too large to upload. */
async function seedRows(ownerId: string, count: number): Promise<void> {
  const bytes = randomBytes(64);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await db.transaction(async (trx) => {
    await trx('image.blobs').insert({
      sha256,
      data: bytes,
      content_type: 'image/png',
      byte_size: 64,
      ref_count: count * 2,
    });
    await trx('image.images').insert(
      Array.from({ length: count }, () => ({
        owner_id: ownerId,
        filename: 'seed.png',
        content_type: 'image/png',
        byte_size: 64,
        width: 1,
        height: 1,
        sha256,
        thumbnail_sha256: sha256,
      })),
    );
  });
}
