import { randomBytes } from 'node:crypto';
import { eventually } from '@imagehub/service-kit';
import amqp from 'amqplib';
import { type Envelope, envelope } from './envelope';
import { RabbitMqTransport } from './rabbitmq-transport';
import { transportContract } from './test-support/contract';
import { OnOffProxy } from './test-support/on-off-proxy';
import { deadLetterQueue } from './transport';

/** Set by jest.config.js when a broker answers; this file only runs then. */
const brokerUrl = () => {
  const url = process.env.IMAGEHUB_TEST_AMQP_URL;
  if (!url) throw new Error('IMAGEHUB_TEST_AMQP_URL is not set: run through jest (npm test)');
  return url;
};
// Exchanges and queues of this run only, on a broker other runs may share.
const namespace = `imagehub-test-${randomBytes(4).toString('hex')}`;

describe('RabbitMQ transport', () => {
  transportContract(() => ({
    create: () => new RabbitMqTransport({ url: brokerUrl(), namespace, reconnectDelayMs: 100 }),
    processArgs: ['rabbitmq', brokerUrl(), namespace],
    cleanup: async (queues) => {
      const transport = new RabbitMqTransport({ url: brokerUrl(), namespace });
      const connection = await amqp.connect(brokerUrl());
      try {
        const channel = await connection.createChannel();
        for (const queue of [...queues, ...queues.map(deadLetterQueue), 'nobody-listens']) {
          await channel.deleteQueue(transport.queueName(queue));
        }
        for (const exchange of Object.values(transport.exchanges)) await channel.deleteExchange(exchange);
      } finally {
        await connection.close();
      }
    },
  }));

  it('refuses a job for a queue no consumer has declared, instead of dropping it', async () => {
    const transport = new RabbitMqTransport({ url: brokerUrl(), namespace });
    try {
      await expect(transport.publish({ queue: 'nobody-listens' }, envelope('test.job', {}))).rejects.toThrow(
        /no queue takes jobs/,
      );
    } finally {
      await transport.close();
    }
  });

  it('fails fast while the broker is unreachable, and is not ready', async () => {
    const transport = new RabbitMqTransport({ url: 'amqp://guest:guest@127.0.0.1:1', namespace });
    try {
      await expect(transport.publish({ event: true }, envelope('test.event', {}))).rejects.toThrow();
      expect(await transport.isReady()).toBe(false);
    } finally {
      await transport.close();
    }
  });

  it('fails fast while its connection is down, then reconnects and resumes its consumers by itself', async () => {
    const broker = new URL(brokerUrl());
    const proxy = new OnOffProxy(broker.hostname, Number(broker.port || 5672));
    const port = await proxy.on(0);
    const viaProxy = new URL(brokerUrl());
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(port);
    const transport = new RabbitMqTransport({ url: viaProxy.toString(), namespace, reconnectDelayMs: 100 });
    const direct = new RabbitMqTransport({ url: brokerUrl(), namespace });
    const queue = `test-reconnect-${randomBytes(4).toString('hex')}`;
    const received: Envelope[] = [];
    try {
      const consumer = await transport.consume({ queue, prefetch: 1, maxAttempts: 3 }, async (message) => {
        received.push(message);
      });
      await proxy.off();
      await expect(transport.publish({ queue }, envelope('test.job', {}))).rejects.toThrow();
      expect(await transport.isReady()).toBe(false);

      await proxy.on(port);
      await eventually('reconnected', 10_000, () => transport.isReady());
      const job = envelope('test.job', { after: 'outage' });
      // Waits in the durable queue until the consumer is attached again.
      await direct.publish({ queue }, job);
      await eventually('consumed after the outage', 10_000, () => received.some((m) => m.id === job.id));
      await transport.publish({ queue }, envelope('test.job', { published: 'after the outage' }));
      await consumer.stop();
    } finally {
      await transport.close();
      await direct.close();
      await proxy.off();
      const connection = await amqp.connect(brokerUrl());
      const channel = await connection.createChannel();
      await channel.deleteQueue(direct.queueName(queue));
      await channel.deleteQueue(direct.queueName(deadLetterQueue(queue)));
      await connection.close();
    }
  });
});
