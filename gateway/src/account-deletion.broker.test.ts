/**
 * deleteAccount with the events on RabbitMQ (AMQP_URL set in both subgraphs): the same flow as
 * account-deletion.test.ts, and a deletion requested while the auth subgraph could not reach the
 * broker completes once it can (the event waits in auth.outbox). Runs when a broker answers.
 */
import { randomBytes } from 'node:crypto';
import { migrateLatest } from '@imagehub/db';
import { createScratchDatabase } from '@imagehub/db/test-support';
import { RabbitMqTransport, USER_DELETED } from '@imagehub/messaging';
import { OnOffProxy } from '@imagehub/messaging/test-support';
import { USER_DELETED_QUEUE } from '@imagehub/subgraph-image';
import { eventually } from '@imagehub/test-kit';
import amqp from 'amqplib';
import {
  closeTestDb,
  deleteAccount,
  expectImagesDeleted,
  imageCountOf,
  setUpDeletion,
  testDb,
  useDatabase,
} from './test-support/account-deletion';
import { type RunningSystem, startSystem } from './test-support/system';

/** Set by jest.config.js when a broker answers; this file only runs then. */
const brokerUrl = () => {
  const url = process.env.IMAGEHUB_TEST_AMQP_URL;
  if (!url) throw new Error('IMAGEHUB_TEST_AMQP_URL is not set: run through jest (npm test)');
  return url;
};
// Exchanges and queues of this file only, on a broker other runs may share.
const namespace = `imagehub-test-${randomBytes(4).toString('hex')}`;

let system: RunningSystem;
let proxy: OnOffProxy;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;

beforeAll(async () => {
  // A database of this file's own: every auth subgraph relays the whole auth.outbox, and those of
  // other test files (on the Postgres transport) would otherwise publish this file's events too.
  scratch = await createScratchDatabase();
  await migrateLatest(scratch.db);
  useDatabase(scratch.url);
  const broker = new URL(brokerUrl());
  proxy = new OnOffProxy(broker.hostname, Number(broker.port || 5672));
  const viaProxy = new URL(brokerUrl());
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(await proxy.on(0));
  system = await startSystem({
    databaseUrl: scratch.url,
    // The auth subgraph reaches the broker through a relay the test can switch off.
    authEnv: { AMQP_URL: viaProxy.toString(), AMQP_NAMESPACE: namespace, OUTBOX_POLL_INTERVAL_MS: '200' },
    imageEnv: { AMQP_URL: brokerUrl(), AMQP_NAMESPACE: namespace },
  });
  // The image subgraph declares its queue (bound to user.deleted) as it starts; wait for that.
  const probe = new RabbitMqTransport({ url: brokerUrl(), namespace });
  try {
    const connection = await amqp.connect(brokerUrl());
    try {
      await eventually('image subgraph queue declared', 20_000, async () => {
        const channel = await connection.createChannel();
        channel.on('error', () => {});
        try {
          await channel.checkQueue(probe.queueName(USER_DELETED_QUEUE));
          return true;
        } catch {
          return false;
        }
      });
    } finally {
      await connection.close();
    }
  } finally {
    await probe.close();
  }
});

afterAll(async () => {
  await system?.close();
  await proxy?.off();
  await closeTestDb();
  await scratch?.drop();
  const transport = new RabbitMqTransport({ url: brokerUrl(), namespace });
  const connection = await amqp.connect(brokerUrl());
  try {
    const channel = await connection.createChannel();
    for (const queue of [USER_DELETED_QUEUE, `${USER_DELETED_QUEUE}.dead-letter`]) {
      await channel.deleteQueue(transport.queueName(queue));
    }
    for (const exchange of Object.values(transport.exchanges)) await channel.deleteExchange(exchange);
  } finally {
    await connection.close();
    await transport.close();
  }
});

describe(`deleteAccount over RabbitMQ (${USER_DELETED})`, () => {
  it('deletes the account at once and the images within a bound; shared blobs stay', async () => {
    const scenario = await setUpDeletion(system);
    const deleted = await deleteAccount(system, scenario.user.accessToken, scenario.user.password);
    expect(deleted.data).toEqual({ deleteAccount: true });
    await expectImagesDeleted(scenario);
  });

  it('completes after the broker was unreachable when it was requested', async () => {
    const scenario = await setUpDeletion(system);
    await proxy.off();
    const port = Number(new URL(system.auth.config.messaging.amqpUrl!).port);
    try {
      const deleted = await deleteAccount(system, scenario.user.accessToken, scenario.user.password);
      // The account is gone at once, whatever the broker does; the event waits in the outbox.
      expect(deleted.data).toEqual({ deleteAccount: true });
      expect(await testDb()('auth.users').where({ id: scenario.user.id }).first()).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await imageCountOf(scenario.user.id)).toBe(2);
      expect(
        Number((await testDb()('auth.outbox').count<{ count: string }[]>('* as count'))[0]?.count),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.on(port);
    }
    await expectImagesDeleted(scenario);
  });
});
