import { randomBytes, randomUUID } from 'node:crypto';
import { migrateLatest } from '@imagehub/db';
import { createScratchDatabase } from '@imagehub/db/test-support';
import { envelope } from '@imagehub/messaging';
import { noisePng } from '@imagehub/test-kit';
import { PROCESS_IMAGE, type ProcessImageJob, UploadJobs } from '../jobs/upload-jobs';
import { PostgresBlobStore } from '../store/blob-store';
import { ImageStore } from '../store/image-store';
import { createTestTokens, startImageService } from '../test-support';
import { Limiter } from '../upload/limiter';
import { processImage } from '../upload/process-image';
import { UploadProcessor } from './process-upload';
import { pipelineContract } from './test-support/pipeline-contract';

describe('upload pipeline over the Postgres transport', () => {
  // No AMQP_URL: jobs and events go through the bus schema (as under `npm start` without a broker).
  pipelineContract(() => ({ env: {}, cleanup: async () => {} }));
});

describe('a worker settling an upload job', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let service: Awaited<ReturnType<typeof startImageService>>;
  let jobs: UploadJobs;
  let ownerId: string;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    await migrateLatest(scratch.db);
    // The processor is called directly here, so no transport delivers these jobs.
    service = await startImageService({
      publicKeys: createTestTokens().jwks,
      env: { DATABASE_URL: scratch.url },
    });
    jobs = new UploadJobs(scratch.db, `not-consumed-${randomUUID()}`);
    ownerId = await service.createUser();
  });
  afterAll(async () => {
    await service?.close();
    await scratch?.drop();
  });

  const images = async () =>
    Number((await scratch.db('image.images').where({ owner_id: ownerId }).count({ n: '*' }))[0]?.n);
  const job = (jobId: string) => envelope<ProcessImageJob>(PROCESS_IMAGE, { jobId, ownerId });

  it('stores a redelivered job once (idempotent commit), and deletes its quarantined original', async () => {
    const before = await images();
    const id = await jobs.enqueue(ownerId, 'twice.png', noisePng(12, 12), 60_000);
    const message = job(id);
    await service.worker!.processor.handle(message);
    await service.worker!.processor.handle(message);
    expect(await images()).toBe(before + 1);
    expect(await jobs.outcome(id)).toMatchObject({ status: 'stored', error: null });
    expect(await scratch.db('image.quarantine').where({ id }).first()).toBeUndefined();
  });

  it('hands the decoder the quarantined original byte for byte', async () => {
    // Every byte value, and more than one network read and one TOAST chunk of them.
    const original = Buffer.concat([
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      randomBytes(3 << 20),
    ]);
    const received: Buffer[] = [];
    const processor = new UploadProcessor({
      db: scratch.db,
      images: new ImageStore(scratch.db, new PostgresBlobStore(scratch.db)),
      decoders: new Limiter(1),
      limits: { maxPixels: 1_000_000 },
      quotaBytes: undefined,
      process: async (bytes, limits) => {
        received.push(bytes);
        return processImage(noisePng(12, 12), limits);
      },
    });
    const id = await jobs.enqueue(ownerId, 'exact.png', original, 60_000);
    await processor.handle(job(id));
    expect(received).toHaveLength(1);
    expect(received[0]?.equals(original)).toBe(true);
    expect(await jobs.outcome(id)).toMatchObject({ status: 'stored' });
  });

  it('stores nothing for a job that was cancelled, or whose deadline has passed', async () => {
    const before = await images();
    const cancelled = await jobs.enqueue(ownerId, 'cancelled.png', noisePng(12, 12), 60_000);
    expect(await jobs.cancel(cancelled)).toBe(true);
    await service.worker!.processor.handle(job(cancelled));
    const late = await jobs.enqueue(ownerId, 'late.png', noisePng(12, 12), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await service.worker!.processor.handle(job(late));
    expect(await images()).toBe(before);
    expect(await jobs.outcome(cancelled)).toMatchObject({ status: 'cancelled' });
    expect(await jobs.outcome(late)).toMatchObject({ status: 'cancelled' });
    expect(await scratch.db('image.quarantine').whereIn('id', [cancelled, late]).first()).toBeUndefined();
  });

  it('turns a dead-lettered job into a coded error for its client, never an internal one', async () => {
    const id = await jobs.enqueue(ownerId, 'poison.png', noisePng(12, 12), 60_000);
    await service.worker!.processor.handleDeadLetter(job(id));
    const outcome = await jobs.outcome(id);
    expect(outcome?.status).toBe('failed');
    expect(outcome?.error?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'file' });
    expect(await scratch.db('image.quarantine').where({ id }).first()).toBeUndefined();
  });
});
