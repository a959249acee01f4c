import { randomBytes } from 'node:crypto';
import { createDb, type Knex } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { eventually } from '@imagehub/service-kit';
import { type Envelope, envelope } from './envelope';
import { firstDelivery } from './inbox';
import { addToOutbox, OutboxRelay } from './outbox';
import { PostgresTransport } from './postgres-transport';
import { RabbitMqTransport } from './rabbitmq-transport';
import { type Consumer, deadLetterQueue, type Transport } from './transport';

// Tables shaped like image.outbox and image.inbox, of this file only: a relay publishes its whole table.
const suffix = randomBytes(4).toString('hex');
const OUTBOX = `image.outbox_test_${suffix}`;
const INBOX = `image.inbox_test_${suffix}`;
const QUEUE = `test-outbox-${suffix}`;

let db: Knex;
let transport: PostgresTransport;
let consumer: Consumer | undefined;
const received: Envelope[] = [];

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), applicationName: 'test-outbox', poolMax: 4 });
  await db.raw(`create table ${OUTBOX} (like image.outbox including all)`);
  await db.raw(`create table ${INBOX} (like image.inbox including all)`);
  transport = new PostgresTransport({
    url: testDatabaseUrl(),
    applicationName: 'test-outbox',
    pollIntervalMs: 100,
  });
  consumer = await transport.consume({ queue: QUEUE, prefetch: 1, maxAttempts: 3 }, async (message) => {
    received.push(message);
  });
});

afterAll(async () => {
  await consumer?.stop();
  await transport.close();
  await db('bus.messages')
    .whereIn('queue', [QUEUE, deadLetterQueue(QUEUE)])
    .delete();
  await db.raw(`drop table ${OUTBOX}`);
  await db.raw(`drop table ${INBOX}`);
  await db.destroy();
});

const outboxSize = async () => Number((await db(OUTBOX).count<{ count: string }[]>('* as count'))[0]?.count);

describe('outbox', () => {
  it('publishes what a committed transaction wrote, once, and never what a rolled-back one wrote', async () => {
    const committed = envelope('test.job', { n: 1 });
    const rolledBack = envelope('test.job', { n: 2 });
    await db.transaction((trx) =>
      addToOutbox(trx, OUTBOX, [{ destination: { queue: QUEUE }, message: committed }]),
    );
    await db
      .transaction(async (trx) => {
        await addToOutbox(trx, OUTBOX, [{ destination: { queue: QUEUE }, message: rolledBack }]);
        throw new Error('the data this message is about was not stored');
      })
      .catch(() => {});
    const relay = new OutboxRelay({ db, table: OUTBOX, transport });
    expect(await relay.flush()).toBe(1);
    expect(await outboxSize()).toBe(0);
    await eventually('job consumed', 10_000, () => received.some((m) => m.id === committed.id));
    expect(received.filter((m) => m.id === rolledBack.id)).toHaveLength(0);
  });

  it('finds an empty outbox with one plain read: no transaction, no locks, every poll', async () => {
    const relay = new OutboxRelay({ db, table: OUTBOX, transport });
    await relay.flush();
    const statements: string[] = [];
    const listener = (q: { sql: string }) => statements.push(q.sql);
    db.on('query', listener);
    expect(await relay.flush()).toBe(0);
    db.off('query', listener);
    expect(statements).toHaveLength(1);
    expect(statements[0]).not.toMatch(/for update/i);
  });

  it('keeps the messages while the transport is away, and a running relay sends them once it can', async () => {
    const unreachable = new RabbitMqTransport({ url: 'amqp://guest:guest@127.0.0.1:1' });
    const message = envelope('test.job', { n: 3 });
    await db.transaction((trx) => addToOutbox(trx, OUTBOX, [{ destination: { queue: QUEUE }, message }]));
    const failing = new OutboxRelay({ db, table: OUTBOX, transport: unreachable });
    await expect(failing.flush()).rejects.toThrow();
    await unreachable.close();
    expect(await outboxSize()).toBe(1);

    const relay = new OutboxRelay({ db, table: OUTBOX, transport, pollIntervalMs: 100 });
    relay.start();
    try {
      await eventually('job consumed', 10_000, () => received.some((m) => m.id === message.id));
      expect(await outboxSize()).toBe(0);
      // Woken after a commit, it does not wait for its poll.
      const next = envelope('test.job', { n: 4 });
      await db.transaction((trx) =>
        addToOutbox(trx, OUTBOX, [{ destination: { queue: QUEUE }, message: next }]),
      );
      relay.wake();
      await eventually('woken relay published', 10_000, () => received.some((m) => m.id === next.id));
    } finally {
      await relay.stop();
    }
  });
});

describe('outbox relay polling', () => {
  /** Counts the relay's "is anything there" reads of this file's outbox. */
  function countReads() {
    let reads = 0;
    const listener = (q: { sql: string }) => {
      if (q.sql.includes(OUTBOX.split('.')[1]!) && /limit/i.test(q.sql) && !/for update/i.test(q.sql))
        reads++;
    };
    db.on('query', listener);
    return { reads: () => reads, done: () => db.off('query', listener) };
  }

  it('looks at a healthy, idle outbox every 15 s by default, not every second: a writer wakes it', async () => {
    const relay = new OutboxRelay({ db, table: OUTBOX, transport });
    const counter = countReads();
    relay.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      // The first look at start, and no poll since (before: one a second).
      expect(counter.reads()).toBe(1);
      const message = envelope('test.job', { n: 5 });
      await db.transaction((trx) => addToOutbox(trx, OUTBOX, [{ destination: { queue: QUEUE }, message }]));
      relay.wake();
      await eventually('woken relay published', 10_000, () => received.some((m) => m.id === message.id));
    } finally {
      counter.done();
      await relay.stop();
    }
  });

  it('tries again every retry interval while publishing fails, not at the (rare) poll', async () => {
    let failures = 2;
    const flaky: Transport = {
      name: 'postgres',
      publish: async (destination, message) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('broker away');
        }
        await transport.publish(destination, message);
      },
      consume: (options, handler) => transport.consume(options, handler),
      isReady: async () => failures === 0,
      close: async () => {},
    };
    const message = envelope('test.job', { n: 6 });
    await db.transaction((trx) => addToOutbox(trx, OUTBOX, [{ destination: { queue: QUEUE }, message }]));
    const relay = new OutboxRelay({
      db,
      table: OUTBOX,
      transport: flaky,
      pollIntervalMs: 60_000,
      retryIntervalMs: 100,
    });
    relay.start();
    try {
      await eventually('published after two failed passes', 5_000, () =>
        received.some((m) => m.id === message.id),
      );
      expect(failures).toBe(0);
      expect(await outboxSize()).toBe(0);
    } finally {
      await relay.stop();
    }
  });
});

describe('inbox', () => {
  it('lets a consumer act on a message once: a redelivery finds it recorded', async () => {
    const id = envelope('test.event', {}).id;
    await db
      .transaction(async (trx) => {
        expect(await firstDelivery(trx, INBOX, 'test-consumer', id)).toBe(true);
        throw new Error('the consumer failed: its record goes with its work');
      })
      .catch(() => {});
    expect(await db.transaction((trx) => firstDelivery(trx, INBOX, 'test-consumer', id))).toBe(true);
    expect(await db.transaction((trx) => firstDelivery(trx, INBOX, 'test-consumer', id))).toBe(false);
    // Another consumer of the same message keeps its own record.
    expect(await db.transaction((trx) => firstDelivery(trx, INBOX, 'other-consumer', id))).toBe(true);
  });
});
