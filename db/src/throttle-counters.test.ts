import { createDb } from './connection';
import { testDatabaseUrl } from './test-support';

/**
 * The throttles' counters are the only unlogged tables (migration 202612020001): a login's charge
 * commits without a WAL flush. This fails if a migration makes them logged again, or makes anything
 * else unlogged, which would lose it in a crash.
 */
describe('persistence of the tables', () => {
  const db = createDb({ url: testDatabaseUrl(), applicationName: 'test', poolMax: 1 });
  afterAll(() => db.destroy());

  it('is unlogged for the rate-limit counters and for nothing else in the auth, image and bus schemas', async () => {
    const unlogged: { table: string }[] = (
      await db.raw(`
        select n.nspname || '.' || c.relname as table
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('auth', 'image', 'bus') and c.relkind = 'r' and c.relpersistence = 'u'
        order by 1`)
    ).rows;
    expect(unlogged).toEqual([{ table: 'auth.rate_limits' }, { table: 'image.rate_limits' }]);
  });
});
