/**
 * Hostile uploads that cost work rather than break parsing (hardening issue 11, the upload half):
 * decode bombs, work for clients that are gone, one user's queue holding up another's, quotas and
 * upload rates, one file fed to two fields, non-ASCII filenames, and refusals that a Node client
 * must be able to read. A system of its own, with small limits, so that the cases can reach them;
 * every case uses fresh users so that one case's counts never leak into another's.
 */
import { createScratchDatabase } from '@imagehub/db/test-support';
import { codesOf, type GraphQLResult, multipartUpload } from '@imagehub/test-kit';
import { manyFrameGif, noiseImage, tinyAvif, tinyWebp } from '../support/decode-bombs';
import { uniquePng } from '../support/images';
import { rawRequest, requestHead } from '../support/raw-http';
import { type AuthSession, System } from '../support/system';

const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
const QUOTA_BYTES = 4 * 1024 * 1024;
const UPLOADS_PER_MINUTE = 5;

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let sys: System;

beforeAll(async () => {
  scratch = await createScratchDatabase();
  sys = await System.start({
    database: { url: scratch.url },
    maxUploadBytes: MAX_UPLOAD_BYTES,
    env: {
      'subgraph-image': {
        UPLOAD_QUOTA_BYTES: String(QUOTA_BYTES),
        UPLOADS_PER_MINUTE: String(UPLOADS_PER_MINUTE),
        UPLOADS_IN_FLIGHT_PER_USER: '2',
        UPLOADS_IN_FLIGHT: '8',
        // One decode at a time makes the queue, and so its fairness, observable.
        IMAGE_PROCESSING_CONCURRENCY: '1',
      },
      // A short grace period, so that the minimum-rate case is quick.
      gateway: { UPLOAD_MIN_BYTES_PER_SEC: '4096', UPLOAD_RATE_GRACE_MS: '1000' },
    },
  });
}, 180_000);

afterAll(async () => {
  await sys?.stop();
  await scratch?.drop();
});

const imagesOf = async (user: AuthSession) =>
  Number((await sys.db('image.images').where({ owner_id: user.userId }).count({ n: '*' }))[0]?.n);

/** Fails instead of hanging: a refusal that takes longer than this is itself the finding. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} was not answered within ${ms} ms`)), ms);
    }),
  ]);
}

async function expectConsistent(): Promise<void> {
  expect(await sys.storageProblems()).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------
// Finding 1: decode bombs are refused from their headers, quickly, at the gateway and the subgraph.

describe('decode bombs', () => {
  const bombs: { label: string; make: () => Promise<Buffer>; filename: string }[] = [
    { label: 'AVIF under 1 kB declaring 6000x6000', make: () => tinyAvif(6000, 6000), filename: 'bomb.avif' },
    {
      label: 'GIF of 10,000 frames of 1x1',
      make: async () => manyFrameGif(10_000),
      filename: 'frames.gif',
    },
    { label: 'WebP of 8000x5000 in a few kB', make: () => tinyWebp(8000, 5000), filename: 'bomb.webp' },
  ];
  const made = new Map<string, Buffer>();
  beforeAll(async () => {
    for (const bomb of bombs) made.set(bomb.label, await bomb.make());
  }, 60_000);

  for (const service of ['gateway', 'subgraph-image'] as const) {
    for (const bomb of bombs) {
      test(`${service}: ${bomb.label} is refused`, async () => {
        const user = await sys.register();
        const file = made.get(bomb.label)!;
        expect(file.length).toBeLessThan(MAX_UPLOAD_BYTES);
        const result = await within(
          10_000,
          bomb.label,
          sys.upload(file, user.accessToken, { service, filename: bomb.filename }),
        );
        expect(codesOf(result)).toEqual(['PAYLOAD_TOO_LARGE']);
        expect(result.errors?.[0]?.extensions?.field).toBe('file');
        expect(await imagesOf(user)).toBe(0);
        // The service is still there for everyone else.
        const other = await sys.register();
        await sys.uploadOk(await uniquePng(), other.accessToken, { service });
        await expectConsistent();
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------
// Finding 2: work for clients that are gone stops and stores nothing; one user's queue never holds
// up another's.

/** A legal image that keeps the decoder busy for a few seconds (noise does not compress). */
const slowImage = () => noiseImage('avif', 2000, 2000, { quality: 20 });

/** Slow uploads under a loaded CI machine: generous client deadlines, the test asserts order, not time. */
const patient = () => ({ signal: AbortSignal.timeout(90_000) });

async function decoders(): Promise<{ running: number; waiting: number }> {
  const [running, waiting] = await Promise.all([
    sys.metric('image-worker', 'image_processing_running'),
    sys.metric('image-worker', 'image_processing_waiting'),
  ]);
  return { running: running ?? -1, waiting: waiting ?? -1 };
}

/** Polls the image worker's decoder queue until it is in the state the next step relies on. */
async function until(what: string, check: (state: { running: number; waiting: number }) => boolean) {
  const deadline = Date.now() + 30_000;
  let state = await decoders();
  while (!check(state)) {
    if (Date.now() > deadline)
      throw new Error(`decoder queue never got to "${what}": ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    state = await decoders();
  }
}

describe('work for clients that are gone', () => {
  test('gateway: an upload whose client disconnects while it waits for processing is never stored', async () => {
    const busy = await sys.register();
    const quitter = await sys.register();
    const [file, quitterFile] = [await slowImage(), await slowImage()];
    expect(file.length).toBeLessThan(MAX_UPLOAD_BYTES);
    // Keeps the one decoder busy, so the quitter's upload waits in the queue.
    const running = sys.upload(file, busy.accessToken, patient());
    await until('one decoding', (q) => q.running === 1);
    const controller = new AbortController();
    const abandoned = sys.upload(quitterFile, quitter.accessToken, { signal: controller.signal });
    await until('one waiting', (q) => q.waiting === 1);
    controller.abort();
    await expect(abandoned).rejects.toThrow();
    expect(codesOf(await running)).toEqual([]);
    // Whatever the server would still do for the quitter is done once the queue is empty.
    await until('idle', (q) => q.running === 0 && q.waiting === 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await imagesOf(quitter)).toBe(0);
    await expectConsistent();
  }, 120_000);

  test("subgraph-image: one user's queued uploads do not hold up another user's", async () => {
    const heavy = await sys.register();
    const light = await sys.register();
    const finished: string[] = [];
    const track = (name: string, promise: Promise<GraphQLResult>) =>
      promise.then((result) => {
        finished.push(name);
        return result;
      });
    const [heavyFile1, heavyFile2, lightFile] = [await slowImage(), await slowImage(), await uniquePng()];
    const options = () => ({ service: 'subgraph-image' as const, ...patient() });
    const first = track('heavy 1', sys.upload(heavyFile1, heavy.accessToken, options()));
    await until('heavy 1 decoding', (q) => q.running === 1);
    const second = track('heavy 2', sys.upload(heavyFile2, heavy.accessToken, options()));
    await until('heavy 2 waiting', (q) => q.waiting === 1);
    const small = track('light', sys.upload(lightFile, light.accessToken, options()));
    await until('both waiting', (q) => q.waiting === 2);
    const results = await Promise.all([first, second, small]);
    for (const result of results) expect(codesOf(result)).toEqual([]);
    // The light user's upload went ahead of the heavy user's second one, which was queued first.
    expect(finished.indexOf('light')).toBeLessThan(finished.indexOf('heavy 2'));
    await expectConsistent();
  }, 120_000);

  test('subgraph-image: a third upload in flight from one user is refused with TOO_MANY_REQUESTS', async () => {
    const user = await sys.register();
    const [file1, file2, file3] = [await slowImage(), await slowImage(), await uniquePng()];
    const options = () => ({ service: 'subgraph-image' as const, ...patient() });
    const first = sys.upload(file1, user.accessToken, options());
    const second = sys.upload(file2, user.accessToken, options());
    await until('both in the decoder queue', (q) => q.running + q.waiting === 2);
    const third = await sys.upload(file3, user.accessToken, options());
    expect(codesOf(third)).toEqual(['TOO_MANY_REQUESTS']);
    expect(third.errors?.[0]?.extensions?.retryAfter).toEqual(expect.any(Number));
    expect((await Promise.all([first, second])).map(codesOf)).toEqual([[], []]);
    expect(await imagesOf(user)).toBe(2);
    await expectConsistent();
  }, 120_000);
});

test('gateway: an upload trickling below the minimum rate is stopped, and nothing is stored', async () => {
  const user = await sys.register();
  const { body, contentType } = multipartUpload(await noiseImage('png', 80, 80), { filename: 'slow.png' });
  const head = requestHead('POST', '/graphql', sys.gatewayPort, {
    'content-type': contentType,
    'content-length': body.length,
    'apollo-require-preflight': 'true',
    authorization: `Bearer ${user.accessToken}`,
  });
  // About 1 kB/s, a quarter of the minimum: the whole file would take 20 s.
  const answer = await rawRequest(sys.gatewayPort, head, body, {
    pieces: Math.ceil(body.length / 100),
    paceMs: 100,
    timeoutMs: 15_000,
  });
  expect(answer.status).toBe(408);
  expect(answer.text).toMatch(/"code":"BAD_REQUEST"/);
  expect(answer.text).toMatch(/slower than 4096 bytes per second/);
  expect(await imagesOf(user)).toBe(0);
  await expectConsistent();
}, 30_000);

// ---------------------------------------------------------------------------------------------------
// Finding 4: quotas and upload rates, and User.usage.

const USAGE = '{ me { id usage { imageCount usedBytes quotaBytes } } }';

describe('quotas', () => {
  test('an upload that would pass the storage quota is refused with QUOTA_EXCEEDED and its numbers', async () => {
    const user = await sys.register();
    const stored: number[] = [];
    let refusal: GraphQLResult | undefined;
    for (let i = 0; i < 4 && !refusal; i++) {
      const result = await sys.upload(await noiseImage('png', 700, 700), user.accessToken);
      if (codesOf(result).length > 0) refusal = result;
      else stored.push(i);
    }
    expect(stored.length).toBeGreaterThan(0);
    expect(refusal && codesOf(refusal)).toEqual(['QUOTA_EXCEEDED']);
    const extensions = refusal!.errors?.[0]?.extensions ?? {};
    expect(extensions.limitBytes).toBe(QUOTA_BYTES);
    // Not used up, only without room for this image: the words say that ("used up" contradicted the figures).
    expect(extensions.usedBytes).toBeLessThan(QUOTA_BYTES);
    expect(refusal!.errors?.[0]?.message).toMatch(
      /^The image does not fit in what is left of your storage quota of \d+ bytes \(\d+ bytes used\)/,
    );
    const usage = await sys.gql<{ me: { usage: { imageCount: number; usedBytes: number } } }>(
      USAGE,
      {},
      user.accessToken,
    );
    expect(extensions.usedBytes).toBe(usage.data?.me.usage.usedBytes);
    expect(usage.data?.me.usage.imageCount).toBe(stored.length);
    expect(await imagesOf(user)).toBe(stored.length);
    await expectConsistent();
  });

  test(`more than ${UPLOADS_PER_MINUTE} uploads a minute are refused with TOO_MANY_REQUESTS and retryAfter`, async () => {
    const user = await sys.register();
    const codes: string[][] = [];
    let retryAfter: unknown;
    for (let i = 0; i < UPLOADS_PER_MINUTE + 2; i++) {
      // Refused files count too: a loop of bombs must hit the same wall.
      const result = await sys.upload(Buffer.from('not an image'), user.accessToken, { filename: 'x.png' });
      codes.push(codesOf(result));
      retryAfter ??= result.errors?.find((e) => e.extensions?.code === 'TOO_MANY_REQUESTS')?.extensions
        ?.retryAfter;
    }
    expect(codes.slice(0, UPLOADS_PER_MINUTE)).toEqual(Array(UPLOADS_PER_MINUTE).fill(['BAD_USER_INPUT']));
    expect(codes.slice(UPLOADS_PER_MINUTE)).toEqual([['TOO_MANY_REQUESTS'], ['TOO_MANY_REQUESTS']]);
    expect(retryAfter).toEqual(expect.any(Number));
    expect(retryAfter as number).toBeGreaterThan(0);
    expect(retryAfter as number).toBeLessThanOrEqual(60);
  });

  test('User.usage: the user sees their own usage and quota', async () => {
    const user = await sys.register();
    const empty = await sys.gql(USAGE, {}, user.accessToken);
    expect(empty.data).toEqual({
      me: { id: user.userId, usage: { imageCount: 0, usedBytes: 0, quotaBytes: QUOTA_BYTES } },
    });
    const image = await sys.uploadOk(await uniquePng(), user.accessToken);
    const row = await sys
      .db('image.images as i')
      .join('image.blobs as t', 't.sha256', 'i.thumbnail_sha256')
      .where('i.id', image.id)
      .first('i.byte_size', 't.byte_size as thumbnail_bytes');
    const after = await sys.gql(USAGE, {}, user.accessToken);
    expect(after.data).toEqual({
      me: {
        id: user.userId,
        usage: {
          imageCount: 1,
          usedBytes: Number(row.byte_size) + Number(row.thumbnail_bytes),
          quotaBytes: QUOTA_BYTES,
        },
      },
    });
  });

  test("subgraph-image: another user's usage through _entities is FORBIDDEN", async () => {
    const alice = await sys.register();
    const bob = await sys.register();
    const result = await sys.gql(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { usage { usedBytes } } } }',
      { r: [{ __typename: 'User', id: bob.userId }] },
      alice.accessToken,
      { service: 'subgraph-image' },
    );
    expect(codesOf(result)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(result.data ?? null)).not.toContain('usedBytes');
  });
});

// ---------------------------------------------------------------------------------------------------
// Finding 8: a failed operation stores nothing.

describe('one file, two fields', () => {
  const operations = JSON.stringify({
    query: 'mutation($f: Upload!) { a: uploadImage(file: $f) { id } b: uploadImage(file: $f) { id } }',
    variables: { f: null },
  });
  for (const service of ['gateway', 'subgraph-image'] as const) {
    test(`${service}: one $file used by two aliased uploadImage fields is refused up front`, async () => {
      const user = await sys.register();
      const result = await sys.upload(await uniquePng(), user.accessToken, {
        service,
        operations,
        map: JSON.stringify({ '0': ['variables.f'] }),
      });
      expect(codesOf(result)).toEqual(['BAD_USER_INPUT']);
      expect(result.errors?.[0]?.extensions?.field).toBe('file');
      expect(await imagesOf(user)).toBe(0);
      await expectConsistent();
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Finding 11: non-ASCII filenames.

test('gateway: café.png stays café.png', async () => {
  const user = await sys.register();
  const image = await sys.uploadOk(await uniquePng(), user.accessToken, { filename: 'café.png' });
  expect((image as unknown as { filename: string }).filename).toBe('café.png');
});

// ---------------------------------------------------------------------------------------------------
// Finding 14: a refusal Node's fetch (undici) can read.

describe('readable refusals', () => {
  const sizes = [
    { label: 'just over the limit (streamed, then refused)', bytes: MAX_UPLOAD_BYTES + 4096 },
    { label: 'ten times the limit (refused from its length)', bytes: MAX_UPLOAD_BYTES * 10 },
  ];
  for (const service of ['gateway', 'subgraph-image'] as const) {
    for (const size of sizes) {
      test(`${service}: Node's fetch gets PAYLOAD_TOO_LARGE for an upload ${size.label}, not EPIPE`, async () => {
        const user = await sys.register();
        const { body, contentType } = multipartUpload(Buffer.alloc(size.bytes, 7), { filename: 'big.png' });
        const response = await sys.request(service, '/graphql', {
          method: 'POST',
          headers: {
            'content-type': contentType,
            'apollo-require-preflight': 'true',
            authorization: `Bearer ${user.accessToken}`,
          },
          body: new Uint8Array(body),
        });
        const json = (await response.json()) as GraphQLResult;
        expect(codesOf(json)).toEqual(['PAYLOAD_TOO_LARGE']);
        expect(await imagesOf(user)).toBe(0);
      });
    }
  }
});
