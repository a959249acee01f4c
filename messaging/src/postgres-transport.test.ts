import { randomBytes } from 'node:crypto';
import { createDb } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { eventually } from '@imagehub/service-kit';
import { envelope } from './envelope';
import { PostgresTransport } from './postgres-transport';
import { transportContract } from './test-support/contract';
import { deadLetterQueue } from './transport';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Postgres transport', () => {
  transportContract(() => ({
    create: () =>
      new PostgresTransport({
        url: testDatabaseUrl(),
        applicationName: 'test-transport',
        pollIntervalMs: 100,
        retryDelayMs: 50,
      }),
    processArgs: ['postgres', testDatabaseUrl()],
    cleanup: async (queues) => {
      const db = createDb({ url: testDatabaseUrl(), applicationName: 'test-cleanup', poolMax: 1 });
      const all = [...queues, ...queues.map(deadLetterQueue)];
      try {
        await db('bus.messages').whereIn('queue', all).delete();
        await db('bus.bindings').whereIn('queue', all).delete();
      } finally {
        await db.destroy();
      }
    },
  }));

  it('polls an idle queue without a claim connection: all of them busy, it still answers at once', async () => {
    const suffix = randomBytes(4).toString('hex');
    const busy = `test-idle-busy-${suffix}`;
    const idle = `test-idle-empty-${suffix}`;
    const transport = new PostgresTransport({
      url: testDatabaseUrl(),
      applicationName: 'test-idle-poll',
      pollIntervalMs: 100,
      maxInFlight: 1,
    });
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = () => {};
    const handling = new Promise<void>((resolve) => {
      started = resolve;
    });
    const consumer = await transport.consume({ queue: busy, prefetch: 1, maxAttempts: 3 }, async () => {
      started();
      await held;
    });
    try {
      await transport.publish({ queue: busy }, envelope('test.job', { n: 1 }));
      // The one claim connection is now held by the message in flight.
      await handling;
      // Before: BEGIN on a claim connection, so this waited for that message (or the acquire timeout).
      await expect(transport.handleOne(idle, async () => {}, 3)).resolves.toBe(false);
    } finally {
      release();
      await consumer.stop();
      await transport.close();
      const db = createDb({ url: testDatabaseUrl(), applicationName: 'test-cleanup', poolMax: 1 });
      await db('bus.messages').whereIn('queue', [busy, idle]).delete();
      await db.destroy();
    }
  });

  it('polls an idle queue from one slot, and that poll wakes the other slots for work nobody announced', async () => {
    const queue = `test-one-poller-${randomBytes(4).toString('hex')}`;
    const transport = new PostgresTransport({
      url: testDatabaseUrl(),
      applicationName: 'test-one-poller',
      pollIntervalMs: 100,
    });
    const db = createDb({ url: testDatabaseUrl(), applicationName: 'test-one-poller-setup', poolMax: 1 });
    let polls = 0;
    const handleOne = transport.handleOne.bind(transport);
    transport.handleOne = (...args) => {
      if (args[0] === queue) polls++;
      return handleOne(...args);
    };
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inFlight = new Set<number>();
    let allFour = () => {};
    const fourAtOnce = new Promise<void>((resolve) => {
      allFour = resolve;
    });
    const consumer = await transport.consume({ queue, prefetch: 4, maxAttempts: 3 }, async (message) => {
      inFlight.add((message.data as { n: number }).n);
      if (inFlight.size === 4) allFour();
      await held;
    });
    try {
      // Each slot looks once at start; after that only the poller does, ten times a second.
      await new Promise((resolve) => setTimeout(resolve, 1_050));
      expect(polls).toBeGreaterThanOrEqual(4 + 2);
      expect(polls).toBeLessThanOrEqual(4 + 12);
      // Rows written without NOTIFY (as if the notification were lost): the poll finds the first,
      // and the three sleeping slots must take the others at once rather than one by one.
      await db('bus.messages').insert(
        [1, 2, 3, 4].map((n) => ({ queue, message: envelope('test.job', { n }) })),
      );
      await fourAtOnce;
      expect([...inFlight].sort()).toEqual([1, 2, 3, 4]);
    } finally {
      release();
      await consumer.stop();
      await transport.close();
      await db('bus.messages').where({ queue }).delete();
      await db.destroy();
    }
  });

  it('polls rarely while it LISTENs, often while LISTEN is down, and rarely again once it is back', async () => {
    const queue = `test-unlistened-${randomBytes(4).toString('hex')}`;
    const applicationName = `test-unlistened-${randomBytes(4).toString('hex')}`;
    const transport = new PostgresTransport({
      url: testDatabaseUrl(),
      applicationName,
      pollIntervalMs: 60_000,
      unlistenedPollIntervalMs: 100,
    });
    const db = createDb({ url: testDatabaseUrl(), applicationName: 'test-unlistened-setup', poolMax: 1 });
    let polls = 0;
    const handleOne = transport.handleOne.bind(transport);
    transport.handleOne = (...args) => {
      if (args[0] === queue) polls++;
      return handleOne(...args);
    };
    const received: number[] = [];
    const consumer = await transport.consume({ queue, prefetch: 1, maxAttempts: 3 }, async (message) => {
      received.push((message.data as { n: number }).n);
    });
    const countPolls = async (ms: number) => {
      const before = polls;
      await new Promise((resolve) => setTimeout(resolve, ms));
      return polls - before;
    };
    try {
      // Listening: the first looks, then nothing for a minute.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await countPolls(600)).toBe(0);
      // The LISTEN connection dies (a restarted database, a cut network): ten looks a second.
      await db.raw('select pg_terminate_backend(pid) from pg_stat_activity where application_name = ?', [
        `${applicationName}-listen`,
      ]);
      // A row nobody announced (its notification would have gone to the dead connection).
      await db('bus.messages').insert({ queue, message: envelope('test.job', { n: 1 }) });
      await eventually('the unannounced row is handled', 5_000, () => received.includes(1));
      // Back (it reconnects within the frequent interval): rare again, and notified rows still arrive.
      await eventually('LISTEN is back', 5_000, async () => {
        const { rows } = await db.raw('select 1 from pg_stat_activity where application_name = ?', [
          `${applicationName}-listen`,
        ]);
        return rows.length === 1;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await countPolls(600)).toBeLessThanOrEqual(1);
      await transport.publish({ queue }, envelope('test.job', { n: 2 }));
      await eventually('the notified row is handled', 5_000, () => received.includes(2));
    } finally {
      await consumer.stop();
      await transport.close();
      await db('bus.messages').where({ queue }).delete();
      await db.destroy();
    }
  });

  it('keeps a wake that comes while a consumer is still looking: it looks again instead of sleeping', async () => {
    // The lost wake CI met: a retry's timer fired while the consumer was still reading the queue
    // (slow, on a loaded machine), so no one was waiting, and the retry waited for the next poll.
    const queue = `test-kept-wake-${randomBytes(4).toString('hex')}`;
    const transport = new PostgresTransport({
      url: testDatabaseUrl(),
      applicationName: 'test-kept-wake',
      pollIntervalMs: 60_000,
    });
    const consumer = await transport.consume({ queue, prefetch: 1, maxAttempts: 3 }, async () => {});
    try {
      const stop = { stopped: false };
      // As a consumer slot does: note the wakes, look (here: nothing), then wait unless woken meanwhile.
      const noted = transport.wakes(queue);
      transport.wake(queue);
      const started = Date.now();
      await expect(transport.waitForWork(queue, stop, new Set(), true, noted)).resolves.toBe(false);
      expect(Date.now() - started).toBeLessThan(100);
      // Not woken since it looked: it waits (here until stopped).
      const waiters = new Set<() => void>();
      const waiting = transport.waitForWork(queue, stop, waiters, true, transport.wakes(queue));
      const settled = await Promise.race([waiting.then(() => 'woke'), sleep(300).then(() => 'waiting')]);
      expect(settled).toBe('waiting');
      stop.stopped = true;
      for (const wake of [...waiters]) wake();
      await waiting;
    } finally {
      await consumer.stop();
      await transport.close();
    }
  });

  it('wakes its consumers when a retry it scheduled comes due, not at the next (rare) poll', async () => {
    const queue = `test-retry-wake-${randomBytes(4).toString('hex')}`;
    const transport = new PostgresTransport({
      url: testDatabaseUrl(),
      applicationName: 'test-retry-wake',
      pollIntervalMs: 60_000,
      retryDelayMs: 200,
    });
    const attempts: number[] = [];
    const consumer = await transport.consume({ queue, prefetch: 1, maxAttempts: 3 }, async () => {
      attempts.push(Date.now());
      if (attempts.length === 1) throw new Error('first delivery fails');
    });
    try {
      await transport.publish({ queue }, envelope('test.job', { n: 1 }));
      await eventually('the retry is handled', 5_000, () => attempts.length === 2);
      expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(190);
      expect(attempts[1]! - attempts[0]!).toBeLessThan(3_000);
    } finally {
      await consumer.stop();
      await transport.close();
      const db = createDb({ url: testDatabaseUrl(), applicationName: 'test-cleanup', poolMax: 1 });
      await db('bus.messages')
        .whereIn('queue', [queue, deadLetterQueue(queue)])
        .delete();
      await db.destroy();
    }
  });

  it('by default polls every 15 s while it LISTENs and every second while it does not', async () => {
    const transport = new PostgresTransport({ url: testDatabaseUrl(), applicationName: 'test-defaults' });
    const consumer = await transport.consume(
      { queue: `test-defaults-${randomBytes(4).toString('hex')}`, prefetch: 1, maxAttempts: 3 },
      async () => {},
    );
    try {
      expect(transport.currentPollIntervalMs).toBe(15_000);
    } finally {
      await consumer.stop();
      await transport.close();
    }
    const unlistened = new PostgresTransport({ url: testDatabaseUrl(), applicationName: 'test-defaults' });
    expect(unlistened.currentPollIntervalMs).toBe(1_000);
    await unlistened.close();
  });

  it('may be used by both service roles, which own nothing else of it', async () => {
    const db = createDb({ url: testDatabaseUrl(), applicationName: 'test-roles', poolMax: 1 });
    try {
      const asRole = (role: string, statement: string) =>
        db.transaction(async (trx) => {
          await trx.raw(`set local role ${role}`);
          await trx.raw(statement);
          await trx.rollback(); // nothing of this test stays
        });
      for (const role of ['imagehub_image', 'imagehub_auth']) {
        await asRole(role, `insert into bus.messages (queue, message) values ('test-roles', '{}')`);
        await asRole(role, `insert into bus.bindings (queue, pattern) values ('test-roles', 'x')`);
        await expect(asRole(role, 'create table bus.not_theirs (id int)')).rejects.toThrow(
          /permission denied/,
        );
      }
    } finally {
      await db.destroy();
    }
  });
});
