/**
 * For the transport tests: consumes one queue and never finishes a message, printing `took <id>`,
 * so the test can kill this process mid-message, and prints `dead <id>` for what reached the
 * dead-letter queue. argv: queue, then `rabbitmq <url> <namespace>`
 * or `postgres <database url>`.
 */
import { PostgresTransport } from '../postgres-transport';
import { RabbitMqTransport } from '../rabbitmq-transport';
import type { Transport } from '../transport';

const [queue, kind, url, namespace] = process.argv.slice(2);
if (!queue || !url) throw new Error('usage: consumer-process <queue> rabbitmq|postgres <url> [namespace]');
const transport: Transport =
  kind === 'rabbitmq'
    ? new RabbitMqTransport({ url, namespace })
    : new PostgresTransport({ url, applicationName: 'test-consumer-process', pollIntervalMs: 100 });

void transport
  .consume(
    {
      queue,
      prefetch: 1,
      maxAttempts: 3,
      onDeadLetter: async (message) => void process.stdout.write(`dead ${message.id}\n`),
    },
    async (message) => {
      process.stdout.write(`took ${message.id}\n`);
      await new Promise(() => {});
    },
  )
  .then(() => process.stdout.write('ready\n'));
