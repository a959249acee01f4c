import { randomUUID } from 'node:crypto';
import { createLogger } from '@imagehub/service-kit';
import { revocationPollDb, serviceDb } from './service-db';
import { testDatabaseUrl } from './test-support';

const config = () => ({ databaseUrl: testDatabaseUrl(), dbPoolMax: 3 });

/** The application name and statement timeout the server sees on one of the pool's connections. */
async function seenByServer(db: ReturnType<typeof serviceDb>) {
  const { rows } = await db.raw(
    `select application_name, current_setting('statement_timeout') as timeout
       from pg_stat_activity where pid = pg_backend_pid()`,
  );
  return rows[0];
}

describe('service pools', () => {
  it("show the service's name and the default statement timeout, and hold DB_POOL_MAX connections", async () => {
    const name = `svc-${randomUUID().slice(0, 8)}`;
    const db = serviceDb(config(), createLogger(name, 'silent'), name);
    try {
      expect(await seenByServer(db)).toEqual({ application_name: name, timeout: '15s' });
      expect(db.client.pool.max).toBe(3);
    } finally {
      await db.destroy();
    }
  });

  it('give the revocation poll one connection of its own with a short statement timeout', async () => {
    const db = revocationPollDb(config(), 'svc');
    try {
      expect(await seenByServer(db)).toEqual({ application_name: 'svc-revocations', timeout: '2s' });
      expect(db.client.pool.max).toBe(1);
    } finally {
      await db.destroy();
    }
  });
});
