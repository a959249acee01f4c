import { createDb } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { PostgresTransport } from './postgres-transport';
import { transportContract } from './test-support/contract';
import { deadLetterQueue } from './transport';

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
});
