/**
 * The image workers under faults (issue 14), with the Postgres transport as under `npm start`:
 * - a worker SIGKILLed in the middle of a decode: its job goes to the worker started in its place,
 *   the client's upload still succeeds, one image is stored;
 * - no worker at all: uploads fail at the deadline with SERVICE_UNAVAILABLE and store nothing, while
 *   reads and logins carry on; a worker that comes back takes uploads again.
 */
import { codesOf, eventually } from '@imagehub/test-kit';
import { noiseImage } from '../support/decode-bombs';
import { uniquePng } from '../support/images';
import { type AuthSession, System } from '../support/system';

let sys: System;

beforeAll(async () => {
  sys = await System.start({
    database: 'embedded',
    maxUploadBytes: 4 * 1024 * 1024,
    // Long enough for a decode, a kill and a restart; short enough to wait out with no worker.
    env: { 'subgraph-image': { UPLOAD_DEADLINE_SEC: '30', IMAGE_PROCESSING_CONCURRENCY: '1' } },
  });
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

const imagesOf = async (user: AuthSession) =>
  Number((await sys.db('image.images').where({ owner_id: user.userId }).count({ n: '*' }))[0]?.n);

async function expectNothingLeftBehind() {
  await eventually('no quarantined original or job row left', 15_000, async () => {
    const [quarantine] = await sys.db('image.quarantine').count({ n: '*' });
    const [jobs] = await sys.db('image.upload_jobs').count({ n: '*' });
    return Number(quarantine?.n) === 0 && Number(jobs?.n) === 0;
  });
  expect(await sys.storageProblems()).toEqual([]);
}

test('a worker killed mid-decode: the job is redelivered, the upload succeeds, one image', async () => {
  const user = await sys.register();
  const subgraphPid = sys.pid('subgraph-image');
  // Noise does not compress: a decode that lasts long enough to be caught in the middle.
  const file = await noiseImage('avif', 1200, 1200, { quality: 20 });
  const answer = sys.upload(file, user.accessToken, { signal: AbortSignal.timeout(110_000) });
  await eventually(
    'the worker decoding it',
    30_000,
    async () => {
      return (await sys.metric('image-worker', 'image_processing_running')) === 1;
    },
    20,
  );
  const killed = await sys.signal('image-worker', 'SIGKILL');
  expect(killed.signal).toBe('SIGKILL');
  await sys.startService('image-worker');

  const result = await answer;
  expect(codesOf(result)).toEqual([]);
  expect(await imagesOf(user)).toBe(1);
  expect(sys.pid('subgraph-image')).toBe(subgraphPid);
  await expectNothingLeftBehind();
}, 120_000);

test('no worker running: uploads fail at the deadline with SERVICE_UNAVAILABLE, reads and logins carry on', async () => {
  const user = await sys.register();
  await sys.uploadOk(await uniquePng(), user.accessToken);
  await sys.signal('image-worker', 'SIGTERM');
  try {
    const refused = await sys.upload(await uniquePng(), user.accessToken, {
      signal: AbortSignal.timeout(110_000),
    });
    expect(codesOf(refused)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(refused.errors?.[0]?.message).toMatch(/no worker finished it in time/);
    expect(await imagesOf(user)).toBe(1);

    const login = await sys.login(user.email, user.password);
    const listed = await sys.gql<{ myImages: { totalCount: number } }>(
      '{ myImages { totalCount } }',
      {},
      login.accessToken,
    );
    expect(codesOf(listed)).toEqual([]);
    expect(listed.data?.myImages.totalCount).toBe(1);
    await expectNothingLeftBehind();
  } finally {
    await sys.startService('image-worker');
  }
  // The cancelled job reaches the new worker too, and still stores nothing.
  await sys.uploadOk(await uniquePng(), user.accessToken);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await imagesOf(user)).toBe(2);
  await expectNothingLeftBehind();
}, 120_000);
