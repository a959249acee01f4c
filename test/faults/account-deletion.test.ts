/**
 * deleteAccount while the image subgraph is stopped (SIGKILL): the account is gone at once, the
 * `user.deleted` event waits (in the durable queue on the Postgres transport, as `npm start` runs it),
 * and once the image subgraph is started again the user's images are gone within a bounded time, with
 * storage consistent: no orphan blobs, ref counts right, the blob shared with another user kept.
 */
import { codesOf, eventually } from '@imagehub/test-kit';
import { uniquePng } from '../support/images';
import { type AuthSession, System, type UploadedImage } from '../support/system';

/** The documented bound (docs/reliability.md): a consumer polls at least every second. */
const DELETION_BOUND_MS = 20_000;

let sys: System;
let user: AuthSession;
let other: AuthSession;
let images: UploadedImage[];
let othersImage: UploadedImage;

beforeAll(async () => {
  sys = await System.start({ database: 'embedded' });
  [user, other] = [await sys.register(), await sys.register()];
  const shared = await uniquePng();
  images = [
    await sys.uploadOk(await uniquePng(), user.accessToken),
    await sys.uploadOk(shared, user.accessToken),
  ];
  othersImage = await sys.uploadOk(shared, other.accessToken);
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

const imagesOf = async (userId: string) =>
  Number((await sys.db('image.images').where({ owner_id: userId }).count({ n: '*' }))[0]?.n);

test('deleteAccount while the image subgraph is down: its images go once it is back, storage consistent', async () => {
  expect(othersImage.sha256).toBe(images[1]!.sha256);
  await sys.signal('subgraph-image', 'SIGKILL');

  const deleted = await sys.gql<{ deleteAccount: boolean }>(
    'mutation ($p: String!) { deleteAccount(password: $p) }',
    { p: user.password },
    user.accessToken,
    { signal: AbortSignal.timeout(10_000) },
  );
  expect(codesOf(deleted)).toEqual([]);
  expect(deleted.data).toEqual({ deleteAccount: true });
  expect(await sys.db('auth.users').where({ id: user.userId }).first()).toBeUndefined();
  // Published (the auth outbox drained) but not consumed: nobody takes the image queue now.
  await eventually(
    'auth outbox drained',
    10_000,
    async () => Number((await sys.db('auth.outbox').count({ n: '*' }))[0]?.n) === 0,
  );
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await imagesOf(user.userId)).toBe(2);

  await sys.startService('subgraph-image', { waitFor: 'ready' });
  await eventually(
    "the user's images deleted",
    DELETION_BOUND_MS,
    async () => (await imagesOf(user.userId)) === 0,
  );

  for (const image of images) {
    for (const url of [image.url, image.thumbnailUrl]) {
      const response = await fetch(url);
      await response.arrayBuffer();
      expect({ url, status: response.status }).toEqual({ url, status: 404 });
    }
  }
  const kept = await fetch(othersImage.url);
  await kept.arrayBuffer();
  expect(kept.status).toBe(200);
  expect(await imagesOf(other.userId)).toBe(1);
  expect(await sys.storageProblems()).toEqual([]);
  // The blobs left are exactly the other user's image's (original and thumbnail).
  expect(Number((await sys.db('image.blobs').count({ n: '*' }))[0]?.n)).toBe(2);

  // The email can be registered again.
  const again = await sys.register({ email: user.email });
  expect(again.userId).not.toBe(user.userId);
});
