import { deadLetterQueue, RabbitMqTransport } from '@imagehub/messaging';
import amqp from 'amqplib';
import { pipelineContract } from './test-support/pipeline-contract';

/** Set by jest.config.js when a broker answers; this file only runs then. */
const brokerUrl = () => {
  const url = process.env.IMAGEHUB_TEST_AMQP_URL;
  if (!url) throw new Error('IMAGEHUB_TEST_AMQP_URL is not set: run through jest (npm test)');
  return url;
};

describe('upload pipeline over RabbitMQ', () => {
  pipelineContract(() => ({
    env: { AMQP_URL: brokerUrl() },
    cleanup: async (queues) => {
      const names = new RabbitMqTransport({ url: brokerUrl() });
      const connection = await amqp.connect(brokerUrl());
      try {
        const channel = await connection.createChannel();
        for (const queue of [...queues, ...queues.map(deadLetterQueue)]) {
          await channel.deleteQueue(names.queueName(queue));
        }
      } finally {
        await connection.close();
        await names.close();
      }
    },
  }));
});
