/**
 * Shared by the account-deletion tests (Postgres transport, RabbitMQ transport): a user with two
 * images, one of them byte-identical to another user's (one blob, deduplicated), and the checks
 * that the deletion left storage right.
 */
import { createDb, type Knex } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import type { RegisteredUser } from '@imagehub/subgraph-auth/test-support';
import { type UploadedImage, uploadImage } from '@imagehub/subgraph-image/test-support';
import { eventually, type GraphQLResult, noisePng } from '@imagehub/test-kit';
import { gql, type RunningSystem } from './system';

export const DELETE_ACCOUNT = 'mutation ($password: String!) { deleteAccount(password: $password) }';

/** How long the image service may take to act on a deletion in these tests (it is usually well under a second). */
export const DELETION_BOUND_MS = 20_000;

export interface DeletionScenario {
  /** The user who deletes their account, and their two images (`shared` has the same bytes as `other`'s). */
  user: RegisteredUser;
  own: UploadedImage;
  shared: UploadedImage;
  /** Another user whose image shares a blob with `shared`: it must survive. */
  other: RegisteredUser;
  othersImage: UploadedImage;
  /** Every blob (original and thumbnail) of the user's own image, and of the shared one. */
  blobs: { own: string[]; shared: string[] };
}

export async function upload(system: RunningSystem, token: string, bytes: Buffer): Promise<UploadedImage> {
  const result = await uploadImage<{ uploadImage: UploadedImage }>(
    system.gatewayUrl,
    token,
    bytes,
    'photo.png',
  );
  if (!result.data?.uploadImage) throw new Error(`upload failed: ${JSON.stringify(result.errors)}`);
  return result.data.uploadImage;
}

export async function setUpDeletion(system: RunningSystem): Promise<DeletionScenario> {
  const [user, other] = [await system.auth.registerUser(), await system.auth.registerUser()];
  const sharedBytes = noisePng(31, 29);
  const own = await upload(system, user.accessToken, noisePng(33, 27));
  const shared = await upload(system, user.accessToken, sharedBytes);
  const othersImage = await upload(system, other.accessToken, sharedBytes);
  if (shared.sha256 !== othersImage.sha256) throw new Error('the same bytes should have been deduplicated');
  const blobsOf = async (id: string) => {
    const row = await testDb()('image.images')
      .where({ id })
      .first<{ sha256: string; thumbnail_sha256: string }>();
    return [row.sha256, row.thumbnail_sha256];
  };
  const blobs = { own: await blobsOf(own.id), shared: await blobsOf(shared.id) };
  for (const sha256 of blobs.shared) {
    if ((await refCount(sha256)) !== 2) throw new Error('the shared blobs should have two references');
  }
  return { user, own, shared, other, othersImage, blobs };
}

export function deleteAccount(system: RunningSystem, token: string | undefined, password: string) {
  return gql<{ deleteAccount: boolean }>(system.gatewayUrl, DELETE_ACCOUNT, {
    token,
    variables: { password },
  });
}

export const reasonOf = (result: GraphQLResult) =>
  result.errors?.map((e) => `${e.extensions?.code}/${e.extensions?.reason ?? ''}`);

let db: Knex | undefined;
let databaseUrl: string | undefined;

/** Looks at another database than jest's shared one (the one the system under test was given). */
export function useDatabase(url: string): void {
  databaseUrl = url;
}

/** The system's database, to look at what the services stored. */
export function testDb(): Knex {
  db ??= createDb({
    url: databaseUrl ?? testDatabaseUrl(),
    applicationName: 'account-deletion-test',
    poolMax: 2,
  });
  return db;
}

export async function closeTestDb(): Promise<void> {
  await db?.destroy();
  db = undefined;
}

export async function imageCountOf(userId: string): Promise<number> {
  const [row] = await testDb()('image.images')
    .where({ owner_id: userId })
    .count<{ count: string }[]>('* as count');
  return Number(row?.count ?? 0);
}

export async function refCount(sha256: string): Promise<number | undefined> {
  const row = await testDb()('image.blobs')
    .where({ sha256 })
    .first<{ ref_count: number } | undefined>('ref_count');
  return row?.ref_count;
}

/**
 * Waits (bounded) until the user's images are gone, then checks what must hold afterwards: their
 * signed URLs answer 404, the other user's image (sharing blobs) is still served, the shared blobs
 * have exactly the other user's reference left, and the unshared ones are gone (no orphans). The
 * fault suite checks the whole storage (its database is its own; this one is shared by test files).
 */
export async function expectImagesDeleted(scenario: DeletionScenario): Promise<void> {
  const { user, own, shared, othersImage } = scenario;
  await eventually(
    "the user's images deleted",
    DELETION_BOUND_MS,
    async () => (await imageCountOf(user.id)) === 0,
  );
  for (const url of [own.url, own.thumbnailUrl, shared.url, shared.thumbnailUrl]) {
    const response = await fetch(url);
    await response.arrayBuffer();
    expect({ url, status: response.status }).toEqual({ url, status: 404 });
  }
  const kept = await fetch(othersImage.url);
  const bytes = Buffer.from(await kept.arrayBuffer());
  expect({ status: kept.status, bytes: bytes.length }).toEqual({ status: 200, bytes: othersImage.byteSize });
  expect({
    own: await Promise.all(scenario.blobs.own.map(refCount)),
    shared: await Promise.all(scenario.blobs.shared.map(refCount)),
  }).toEqual({ own: [undefined, undefined], shared: [1, 1] });
}
