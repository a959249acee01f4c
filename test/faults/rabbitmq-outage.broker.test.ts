/**
 * RabbitMQ cut off for ~10 s under upload load (a TCP relay between the services and the broker,
 * switched off and on: the system's broker itself is never stopped). Uploads during the outage fail
 * with SERVICE_UNAVAILABLE or succeed once it is back; nothing is half-stored, no job is lost from the
 * outbox, and everything recovers without restarting a process.
 */
import { randomBytes } from 'node:crypto';
import { deadLetterQueue, RabbitMqTransport } from '@imagehub/messaging';
import { OnOffProxy } from '@imagehub/messaging/test-support';
import { codesOf, eventually } from '@imagehub/test-kit';
import amqp from 'amqplib';
import { uniquePng } from '../support/images';
import { type AuthSession, PROCESSES, System } from '../support/system';

/** Set by jest.config.js when a broker answers; this file only runs then. */
const brokerUrl = () => {
  const url = process.env.IMAGEHUB_TEST_AMQP_URL;
  if (!url) throw new Error('IMAGEHUB_TEST_AMQP_URL is not set: run through jest');
  return url;
};

const jobQueue = `test-image-processing-${randomBytes(4).toString('hex')}`;
let proxy: OnOffProxy;
let proxyPort: number;
let sys: System;

beforeAll(async () => {
  const broker = new URL(brokerUrl());
  proxy = new OnOffProxy(broker.hostname, Number(broker.port || 5672));
  proxyPort = await proxy.on(0);
  const viaProxy = new URL(brokerUrl());
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxyPort);
  sys = await System.start({
    database: 'embedded',
    env: {
      'subgraph-image': {
        AMQP_URL: viaProxy.toString(),
        IMAGE_JOB_QUEUE: jobQueue,
        UPLOAD_DEADLINE_SEC: '20',
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await sys?.stop();
  await proxy?.off();
  const names = new RabbitMqTransport({ url: brokerUrl() });
  const connection = await amqp.connect(brokerUrl());
  const channel = await connection.createChannel();
  for (const queue of [jobQueue, deadLetterQueue(jobQueue)])
    await channel.deleteQueue(names.queueName(queue));
  await connection.close();
  await names.close();
});

const count = async (table: string) => Number((await sys.db(table).count({ n: '*' }))[0]?.n);

test('uploads through a 10 s broker outage: SERVICE_UNAVAILABLE or success, nothing half-stored or lost, no restarts', async () => {
  const users: AuthSession[] = await Promise.all([sys.register(), sys.register(), sys.register()]);
  // Asks during the outage: the loaders may all be waiting out the outage in uploads begun before it.
  const prober = await sys.register();
  const pids = Object.fromEntries(PROCESSES.map((name) => [name, sys.pid(name)]));
  const outcomes: string[][] = [];
  const stored = new Map<string, number>(users.map((user) => [user.userId, 0]));
  let loading = true;
  const load = users.map(async (user) => {
    while (loading) {
      const result = await sys.upload(await uniquePng(), user.accessToken, {
        signal: AbortSignal.timeout(60_000),
      });
      outcomes.push(codesOf(result));
      if (codesOf(result).length === 0) stored.set(user.userId, (stored.get(user.userId) ?? 0) + 1);
    }
  });

  await eventually('uploads flowing', 30_000, () => outcomes.some((codes) => codes.length === 0));
  await proxy.off();
  const outageEnds = Date.now() + 10_000;
  const probes: string[][] = [];
  await new Promise((resolve) => setTimeout(resolve, 500)); // the services see their connections close
  while (Date.now() < outageEnds - 1_000 && !probes.some((codes) => codes.join() === 'SERVICE_UNAVAILABLE')) {
    probes.push(codesOf(await sys.upload(await uniquePng(), prober.accessToken)));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageEnds - Date.now())));
  await proxy.on(proxyPort);
  const backAt = outcomes.length;
  await eventually('uploads succeeding again', 60_000, () =>
    outcomes.slice(backAt).some((codes) => codes.length === 0),
  );
  loading = false;
  await Promise.all(load);

  // Only the two outcomes the contract allows; the outage was real (an upload asked during it was refused).
  expect(outcomes.filter((codes) => codes.length > 0 && codes.join() !== 'SERVICE_UNAVAILABLE')).toEqual([]);
  expect(probes.filter((codes) => codes.length > 0 && codes.join() !== 'SERVICE_UNAVAILABLE')).toEqual([]);
  expect(probes.at(-1)).toEqual(['SERVICE_UNAVAILABLE']);
  // Every upload that succeeded is stored once, nothing else is.
  stored.set(prober.userId, probes.filter((codes) => codes.length === 0).length);
  for (const user of [...users, prober]) {
    const [row] = await sys.db('image.images').where({ owner_id: user.userId }).count({ n: '*' });
    expect([user.userId, Number(row?.n)]).toEqual([user.userId, stored.get(user.userId)]);
  }
  // The outbox drains (no job lost, none stuck), every job ended, nothing half-stored.
  await eventually('outbox published, jobs ended', 30_000, async () => {
    return (
      (await count('image.outbox')) === 0 &&
      (await count('image.quarantine')) === 0 &&
      (await count('image.upload_jobs')) === 0
    );
  });
  expect(await sys.storageProblems()).toEqual([]);
  // No process was restarted.
  expect(Object.fromEntries(PROCESSES.map((name) => [name, sys.pid(name)]))).toEqual(pids);
}, 120_000);
