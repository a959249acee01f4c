import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { envelope } from './envelope';
import { RabbitMqTransport } from './rabbitmq-transport';
import { transportContract } from './test-support/contract';
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
});
