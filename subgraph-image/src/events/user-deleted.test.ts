/**
 * The image service's consumer of `user.deleted`, handed envelopes directly (as a transport would,
 * redeliveries included) against the real database.
 */
import { randomUUID } from 'node:crypto';
import { createDb, type Knex } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { type Envelope, envelope, PostgresTransport, userDeletedEvent } from '@imagehub/messaging';
import { eventually, noisePng } from '@imagehub/test-kit';
import { loadWorkerConfig } from '../config';
import { createTestTokens, type RunningImageService, startImageService, uploadImage } from '../test-support';
import { createWorker } from '../worker/app';

const tokens = createTestTokens();
let service: RunningImageService;
let db: Knex;

beforeAll(async () => {
  service = await startImageService({ publicKeys: tokens.jwks });
  db = createDb({ url: testDatabaseUrl(), applicationName: 'user-deleted-test', poolMax: 2 });
});
afterAll(async () => {
  await service?.close();
  await db?.destroy();
});

async function upload(userId: string, bytes: Buffer): Promise<{ id: string; sha256: string }> {
  const result = await uploadImage<{ uploadImage: { id: string; sha256: string } }>(
    service.url,
    tokens.mint(userId),
    bytes,
    'photo.png',
    { query: 'mutation($file: Upload!) { uploadImage(file: $file) { id sha256 } }' },
  );
  if (!result.data?.uploadImage) throw new Error(JSON.stringify(result.errors));
  return result.data.uploadImage;
}

const refCount = async (sha256: string) =>
  (await db('image.blobs').where({ sha256 }).first<{ ref_count: number } | undefined>('ref_count'))
    ?.ref_count;
const imagesOf = async (ownerId: string) =>
  (await db('image.images').where({ owner_id: ownerId }).select('id')).map((r) => r.id).sort();
const handledTimes = async (messageId: string) =>
  Number(
    (await db('image.inbox').where({ message_id: messageId }).count<{ count: string }[]>('* as count'))[0]
      ?.count,
  );

describe('user.deleted consumer', () => {
  it("deletes the user's images once: a redelivered message does nothing the second time", async () => {
    const [userId, otherId] = [await service.createUser(), await service.createUser()];
    const shared = noisePng(21, 23);
    const own = await upload(userId, noisePng(22, 22));
    const sharedImage = await upload(userId, shared);
    const othersImage = await upload(otherId, shared);
    expect(await refCount(sharedImage.sha256)).toBe(2);
    await db('auth.users').where({ id: userId }).delete();

    const event = userDeletedEvent(userId);
    const first = await service.server.userDeleted.handle(event);
    // In no particular order (the order the rows were deleted in).
    expect(first).toEqual({
      outcome: 'deleted',
      userId,
      imageIds: expect.arrayContaining([own.id, sharedImage.id]),
    });
    expect(first.outcome === 'deleted' && first.imageIds).toHaveLength(2);
    expect(await imagesOf(userId)).toEqual([]);
    expect(await refCount(own.sha256)).toBeUndefined();
    expect(await refCount(sharedImage.sha256)).toBe(1);

    // The same envelope again (a redelivery): recorded as handled, so nothing is released twice even
    // if images of that id were there again (restored from a backup, say).
    await db('image.images').insert({
      ...(await db('image.images').where({ id: othersImage.id }).first()),
      id: undefined,
      owner_id: userId,
    });
    await db('image.blobs').where({ sha256: sharedImage.sha256 }).increment('ref_count', 2);
    const second = await service.server.userDeleted.handle(event);
    expect(second).toEqual({ outcome: 'redelivered' });
    expect(await imagesOf(userId)).toHaveLength(1);
    expect(await handledTimes(event.id)).toBe(1);
    expect(await imagesOf(otherId)).toEqual([othersImage.id]);
  });

  it('publishes image.deleted for each deleted image, as deleteImage does', async () => {
    const events: Envelope[] = [];
    const consumer = await service.server.services.bus.transport.consume(
      { queue: `test-image-deleted-${randomUUID()}`, events: ['image.deleted'], prefetch: 4, maxAttempts: 3 },
      async (event) => void events.push(event),
    );
    try {
      const userId = await service.createUser();
      const images = [await upload(userId, noisePng(26, 21)), await upload(userId, noisePng(21, 26))];
      await db('auth.users').where({ id: userId }).delete();
      await service.server.userDeleted.handle(userDeletedEvent(userId));
      const ofUser = () => events.filter((event) => (event.data as { ownerId?: string }).ownerId === userId);
      await eventually('image.deleted published for both', 15_000, () => ofUser().length === 2);
      expect(ofUser().map((event) => event.data)).toEqual(
        expect.arrayContaining(
          images.map((image) => ({ imageId: image.id, ownerId: userId, sha256: image.sha256 })),
        ),
      );
    } finally {
      await consumer.stop();
    }
  });

  it('stores nothing for an upload that was waiting for a worker when its account was deleted', async () => {
    const waiting = await startImageService({ publicKeys: tokens.jwks, worker: false });
    try {
      const userId = await waiting.createUser();
      const answer = uploadImage(waiting.url, tokens.mint(userId), noisePng(23, 23), 'photo.png');
      await eventually('upload queued', 15_000, async () =>
        Boolean(await db('image.upload_jobs').where({ owner_id: userId }).first('id')),
      );
      await db('auth.users').where({ id: userId }).delete();
      await waiting.server.userDeleted.handle(userDeletedEvent(userId));
      // Only now a worker takes the job: the owner is checked under the lock the deletion took.
      const worker = await createWorker(loadWorkerConfig(waiting.env));
      try {
        const result = await answer;
        expect(result.errors?.[0]?.extensions).toMatchObject({
          code: 'UNAUTHENTICATED',
          reason: 'TOKEN_INVALID',
        });
        expect(await imagesOf(userId)).toEqual([]);
      } finally {
        await worker.close();
      }
    } finally {
      await waiting.close();
    }
  });

  it('refuses a message it does not understand (another version, no user id) without recording it', async () => {
    const userId = await service.createUser();
    await upload(userId, noisePng(24, 20));
    for (const message of [
      { ...userDeletedEvent(userId), version: 2 },
      envelope('user.deleted', { id: userId }),
      envelope('user.deleted', { userId: 'not-a-uuid' }),
    ]) {
      await expect(service.server.userDeleted.handle(message)).rejects.toThrow();
      expect(await handledTimes(message.id)).toBe(0);
    }
    expect(await imagesOf(userId)).toHaveLength(1);
  });

  it('comes through the transport: an event published on the bus is consumed by the running service', async () => {
    const userId = await service.createUser();
    await upload(userId, noisePng(20, 24));
    await db('auth.users').where({ id: userId }).delete();
    const publisher = new PostgresTransport({ url: testDatabaseUrl(), applicationName: 'user-deleted-test' });
    try {
      await publisher.publish({ event: true }, userDeletedEvent(userId));
    } finally {
      await publisher.close();
    }
    await eventually(
      'images deleted by the consumer',
      20_000,
      async () => (await imagesOf(userId)).length === 0,
    );
  });
});
