import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { eventually } from '@imagehub/service-kit';
import { type Envelope, envelope } from '../envelope';
import type { Consumer, Transport } from '../transport';

export interface TransportFixture {
  /** A new transport on the test's broker or database. */
  create(): Transport;
  /** argv for `consumer-process.ts` to consume with the same settings in a process of its own. */
  processArgs: string[];
  /** Removes what the tests' queues left on the broker or in the database. */
  cleanup(queues: string[]): Promise<void>;
}

const used: string[] = [];
function unique(what: string): string {
  const queue = `test-${what}-${randomBytes(4).toString('hex')}`;
  used.push(queue);
  return queue;
}

/** Collects what a handler received. */
function recorder() {
  const received: Envelope[] = [];
  return { received, handler: async (message: Envelope) => void received.push(message) };
}

/**
 * What every transport must do, run against each real one: the RabbitMQ broker and Postgres. Each
 * test uses queues of its own, so files running at once (and other runs on the same broker) do not meet.
 */
export function transportContract(fixture: () => TransportFixture): void {
  let transport: Transport;
  const consumers: Consumer[] = [];

  beforeAll(() => {
    transport = fixture().create();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
  });
  afterAll(async () => {
    await transport.close();
    await fixture().cleanup(used);
  });

  it('is ready while connected', async () => {
    expect(await transport.isReady()).toBe(true);
  });

  it('delivers a job to its queue once, intact (id, type, time, version, data)', async () => {
    const queue = unique('jobs');
    const { received, handler } = recorder();
    consumers.push(await transport.consume({ queue, prefetch: 2, maxAttempts: 3 }, handler));
    const job = envelope('test.job', { n: 1, text: 'ü' });
    await transport.publish({ queue }, job);
    await eventually('job handled', 10_000, () => received.length === 1);
    expect(received[0]).toEqual(job);
    // Nothing comes again once handled.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toHaveLength(1);
  });

  it('delivers an event to every queue bound to a matching type pattern, and to no other', async () => {
    const prefix = unique('ev').replace(/-/g, '_');
    used.push(`${prefix}-all`, `${prefix}-stored`, `${prefix}-other`);
    const all = recorder();
    const stored = recorder();
    const other = recorder();
    consumers.push(
      await transport.consume(
        { queue: `${prefix}-all`, events: [`${prefix}.#`], prefetch: 1, maxAttempts: 3 },
        all.handler,
      ),
    );
    consumers.push(
      await transport.consume(
        { queue: `${prefix}-stored`, events: [`${prefix}.image.stored`], prefetch: 1, maxAttempts: 3 },
        stored.handler,
      ),
    );
    consumers.push(
      await transport.consume(
        { queue: `${prefix}-other`, events: [`${prefix}.user.*`], prefetch: 1, maxAttempts: 3 },
        other.handler,
      ),
    );
    const event = envelope(`${prefix}.image.stored`, { imageId: 'x' });
    await transport.publish({ event: true }, event);
    await eventually(
      'event fanned out',
      10_000,
      () => all.received.length === 1 && stored.received.length === 1,
    );
    expect(all.received[0]).toEqual(event);
    expect(stored.received[0]).toEqual(event);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(other.received).toHaveLength(0);
  });

  it('redelivers a message whose handler threw, and dead-letters it after maxAttempts deliveries', async () => {
    const queue = unique('poison');
    let attempts = 0;
    const dead = recorder();
    consumers.push(
      await transport.consume(
        { queue, prefetch: 1, maxAttempts: 3, onDeadLetter: dead.handler },
        async () => {
          attempts += 1;
          throw new Error('this message always fails');
        },
      ),
    );
    const job = envelope('test.poison', {});
    await transport.publish({ queue }, job);
    await eventually('dead-lettered', 20_000, () => dead.received.length === 1);
    expect(attempts).toBe(3);
    expect(dead.received[0]?.id).toBe(job.id);
  });

  it('hands a message to another consumer when the process handling it is killed', async () => {
    const queue = unique('crash');
    const child = startConsumerProcess(fixture().processArgs, queue);
    try {
      await child.ready;
      const job = envelope('test.crash', { n: 2 });
      await transport.publish({ queue }, job);
      await eventually('the other process took the job', 15_000, () => child.taken.includes(job.id));
      child.process.kill('SIGKILL');
      const { received, handler } = recorder();
      consumers.push(
        await transport.consume({ queue, prefetch: 1, maxAttempts: CHILD_MAX_ATTEMPTS }, handler),
      );
      await eventually('redelivered here', 15_000, () => received.length === 1);
      expect(received[0]).toEqual(job);
    } finally {
      child.process.kill('SIGKILL');
    }
    // Child processes start slowly on a loaded machine.
  }, 90_000);

  it('dead-letters a message whose every delivery kills its consumer, after at most maxAttempts deliveries', async () => {
    const queue = unique('killer');
    const job = envelope('test.killer', {});
    let deaths = 0;
    // Processes that take the job die with it; the one that finds it dead-lettered says so.
    // (RabbitMQ 3.x sometimes counts one death as two returns: between 1 and maxAttempts deaths.)
    for (;;) {
      const child = startConsumerProcess(fixture().processArgs, queue);
      try {
        await child.ready;
        if (deaths === 0) await transport.publish({ queue }, job);
        await eventually(
          'the job taken or dead-lettered',
          15_000,
          () => child.taken.includes(job.id) || child.dead.includes(job.id),
        );
        if (child.dead.includes(job.id)) break;
        deaths += 1;
        expect(deaths).toBeLessThanOrEqual(CHILD_MAX_ATTEMPTS);
      } finally {
        child.process.kill('SIGKILL');
      }
    }
    expect(deaths).toBeGreaterThanOrEqual(1);
  }, 120_000);
}

/** What consumer-process.ts passes as maxAttempts. */
const CHILD_MAX_ATTEMPTS = 3;

/** A consumer in a child process that takes messages and never finishes them (until it is killed). */
function startConsumerProcess(args: string[], queue: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      path.join(__dirname, 'consumer-process.ts'),
      queue,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const taken: string[] = [];
  const dead: string[] = [];
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`consumer process exited (${code})`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const lines = output.split('\n');
      output = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') resolve();
        if (line.startsWith('took ')) taken.push(line.slice(5));
        if (line.startsWith('dead ')) dead.push(line.slice(5));
      }
    });
  });
  ready.catch(() => {});
  return { process: child, ready, taken, dead };
}
