import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { migrateLatest } from '@imagehub/db';
import { createScratchDatabase } from '@imagehub/db/test-support';
import type { Consumer, Envelope } from '@imagehub/messaging';
import { eventually } from '@imagehub/service-kit';
import { codesOf, noisePng } from '@imagehub/test-kit';
import { loadWorkerConfig } from '../../config';
import {
  createTestTokens,
  graphql,
  type RunningImageService,
  type StartImageServiceOptions,
  startImageService,
  type UploadedImage,
  uploadImage,
} from '../../test-support';
import { processImage } from '../../upload/process-image';
import { createWorker, type ImageWorker } from '../app';
import { POISON_MARKER } from './poison';

export interface PipelineFixture {
  /** Environment that selects the transport (AMQP_URL or none). */
  env: Record<string, string>;
  /** Removes what the tests' queues left on the broker (the database is dropped anyway). */
  cleanup(queues: string[]): Promise<void>;
}

/**
 * The upload pipeline through a worker, end to end over real HTTP, a real database and a real
 * transport, and the same body for each transport: Postgres (pipeline.test.ts) and RabbitMQ
 * (pipeline.broker.test.ts). Each test has a database of its own, so "nothing stored" is a count.
 */
export function pipelineContract(fixture: () => PipelineFixture): void {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  const tokens = createTestTokens();
  const running: { close(): Promise<void> }[] = [];
  const children: ChildProcess[] = [];
  const queues: string[] = [];

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    await migrateLatest(scratch.db);
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const item of running.splice(0).reverse()) await item.close();
  });
  afterAll(async () => {
    await fixture().cleanup(queues);
    await scratch?.drop();
  });

  async function start(options: Partial<StartImageServiceOptions> = {}) {
    const service = await startImageService({
      publicKeys: tokens.jwks,
      ...options,
      env: { DATABASE_URL: scratch.url, ...fixture().env, ...options.env },
    });
    running.push(service);
    queues.push(service.config.bus.jobQueue);
    const userId = await service.createUser();
    return { service, userId, token: tokens.mint(userId) };
  }

  /** Another worker in this process, on the service's queue. */
  async function startWorker(service: RunningImageService): Promise<ImageWorker> {
    const worker = await createWorker(loadWorkerConfig(service.env));
    running.push(worker);
    return worker;
  }

  /** A worker in a process of its own (worker-process.ts), to be killed. */
  function startWorkerProcess(service: RunningImageService, mode: 'stall' | 'crash-on-poison') {
    const child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', path.join(__dirname, 'worker-process.ts'), mode],
      { env: { ...process.env, ...service.env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      child,
      exited,
      ready: () => eventually('worker process ready', 30_000, () => output.includes('ready\n')),
      took: () => eventually('worker process took the job', 30_000, () => output.includes('took\n')),
    };
  }

  const upload = (service: RunningImageService, token: string, bytes: Buffer) =>
    uploadImage<{ uploadImage: UploadedImage }>(service.url, token, bytes, 'photo.png');

  const count = async (table: string, where: Record<string, string> = {}) =>
    Number((await scratch.db(table).where(where).count({ n: '*' }))[0]?.n);

  /** What an ended job leaves behind: nothing (no quarantined original, no job row). */
  async function expectNoJobLeft() {
    await eventually('job rows and quarantine gone', 10_000, async () => {
      return (await count('image.quarantine')) === 0 && (await count('image.upload_jobs')) === 0;
    });
  }

  it('stores an upload through a worker, answers with the finished image, and publishes image.stored and image.deleted', async () => {
    const { service, userId, token } = await start();
    const events: Envelope[] = [];
    const eventQueue = `test-image-events-${randomUUID()}`;
    queues.push(eventQueue);
    const consumer: Consumer = await service.server.services.bus.transport.consume(
      { queue: eventQueue, events: ['image.*'], prefetch: 4, maxAttempts: 3 },
      async (event) => void events.push(event),
    );
    running.push({ close: () => consumer.stop() });

    const result = await upload(service, token, noisePng(40, 30));
    expect(codesOf(result)).toEqual([]);
    const image = result.data!.uploadImage;
    expect([image.width, image.height, image.contentType]).toEqual([40, 30, 'image/png']);
    expect((await fetch(image.url)).status).toBe(200);
    expect(await count('image.images', { owner_id: userId })).toBe(1);
    await expectNoJobLeft();

    const ofImage = (type: string) =>
      events.find(
        (event) => event.type === type && (event.data as { imageId?: string }).imageId === image.id,
      );
    await eventually('image.stored published', 15_000, () => Boolean(ofImage('image.stored')));
    expect(ofImage('image.stored')).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'image.stored',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      version: 1,
      data: { imageId: image.id, ownerId: userId, sha256: image.sha256 },
    });

    const deleted = await graphql(
      service.url,
      'mutation($id: ID!) { deleteImage(id: $id) }',
      { id: image.id },
      token,
    );
    expect(deleted.data).toEqual({ deleteImage: true });
    await eventually('image.deleted published', 15_000, () => Boolean(ofImage('image.deleted')));
    expect(ofImage('image.deleted')?.data).toEqual({
      imageId: image.id,
      ownerId: userId,
      sha256: image.sha256,
    });
  });

  it('answers with the same coded errors as before for what the worker refuses', async () => {
    const { service, userId, token } = await start({ env: { UPLOAD_QUOTA_BYTES: '2000' } });
    // Over the quota only once processed: the worker's verdict, through the job, to the client.
    const result = await upload(service, token, noisePng(64, 64));
    expect(codesOf(result)).toEqual(['QUOTA_EXCEEDED']);
    expect(result.errors?.[0]?.extensions).toMatchObject({ limitBytes: 2000, usedBytes: 0 });
    expect(await count('image.images', { owner_id: userId })).toBe(0);
    await expectNoJobLeft();
  });

  it('redelivers the job of a worker killed mid-job to another worker: the upload succeeds, one image', async () => {
    const { service, userId, token } = await start({ worker: false });
    const doomed = startWorkerProcess(service, 'stall');
    await doomed.ready();
    const answer = upload(service, token, noisePng(32, 32, 1));
    await doomed.took();
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    await startWorker(service);
    const result = await answer;
    expect(codesOf(result)).toEqual([]);
    expect(result.data?.uploadImage.id).toBeDefined();
    expect(await count('image.images', { owner_id: userId })).toBe(1);
    await expectNoJobLeft();
  }, 90_000);

  it('cancels a job no worker finished by the deadline: SERVICE_UNAVAILABLE, and nothing appears later', async () => {
    const { service, userId, token } = await start({ worker: false, env: { UPLOAD_DEADLINE_SEC: '2' } });
    const late = await upload(service, token, noisePng(24, 24, 2));
    expect(codesOf(late)).toEqual(['SERVICE_UNAVAILABLE']);
    await expectNoJobLeft();
    // A worker that comes up now (with a service whose deadline is a normal one, on the same queue)
    // still gets the cancelled job, and stores nothing for it.
    const later = await start({ env: { IMAGE_JOB_QUEUE: service.config.bus.jobQueue } });
    const next = await upload(later.service, token, noisePng(24, 24, 3));
    expect(codesOf(next)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await count('image.images', { owner_id: userId })).toBe(1);
    await expectNoJobLeft();
  }, 60_000);

  it('cancels the job of a client that disconnects: nothing stored, quarantine empty', async () => {
    let release = () => {};
    let started = false;
    const { service, userId, token } = await start({
      worker: {
        process: async (bytes, limits) => {
          started = true;
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return processImage(bytes, limits);
        },
      },
    });
    const client = new AbortController();
    const abandoned = uploadImage(service.url, token, noisePng(20, 20, 4), 'gone.png', {
      signal: client.signal,
    });
    await eventually('the worker started on it', 15_000, () => started);
    client.abort();
    await expect(abandoned).rejects.toThrow();
    await expectNoJobLeft();
    release();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await count('image.images', { owner_id: userId })).toBe(0);
    expect(await count('image.quarantine')).toBe(0);
  });

  it('dead-letters a poison image that kills its workers: a coded error, and other uploads keep flowing', async () => {
    const { service, userId, token } = await start({ worker: false, env: { WORKER_MAX_ATTEMPTS: '2' } });
    const poison = Buffer.concat([noisePng(16, 16, 5), Buffer.from(POISON_MARKER)]);
    let answered = false;
    const answer = upload(service, token, poison).finally(() => {
      answered = true;
    });
    // A supervisor's job: a worker that dies is started again, until the job is dead-lettered.
    let deaths = 0;
    let worker = startWorkerProcess(service, 'crash-on-poison');
    for (;;) {
      await Promise.race([worker.exited, answer]);
      if (answered) break;
      deaths += 1;
      expect(deaths).toBeLessThanOrEqual(3);
      worker = startWorkerProcess(service, 'crash-on-poison');
    }
    const result = await answer;
    expect(codesOf(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.field).toBe('file');
    expect(result.errors?.[0]?.message).toMatch(/could not be processed/);
    expect(deaths).toBeGreaterThanOrEqual(1);
    expect(await count('image.images', { owner_id: userId })).toBe(0);
    await expectNoJobLeft();
    // The worker still running takes everyone else's uploads.
    const fine = await upload(service, token, noisePng(16, 16, 6));
    expect(codesOf(fine)).toEqual([]);
    expect(await count('image.images', { owner_id: userId })).toBe(1);
  }, 180_000);
}
