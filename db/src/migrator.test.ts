import { createDb } from './connection';
import { listMigrations, migrateDown, migrateLatest, migrateRollbackAll } from './migrator';
import { testDatabaseUrl } from './test-support';
import { createScratchDatabase } from './test-support/scratch-database';

describe('migrations', () => {
  it('are named YYYYMMDDhhmm_what and sorted by date', async () => {
    const names = await listMigrations();
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^\d{12}_[a-z0-9_]+$/);
    expect([...names].sort()).toEqual(names);
  });

  it('have all been applied by the test setup, and a second run has nothing to do', async () => {
    const db = createDb({ url: testDatabaseUrl(), applicationName: 'test', poolMax: 1 });
    try {
      expect(await migrateLatest(db)).toEqual([]);
      const schemas = await db('information_schema.schemata').pluck('schema_name');
      expect(schemas).toEqual(expect.arrayContaining(['auth', 'image', 'bus']));
    } finally {
      await db.destroy();
    }
  });

  it('go all the way down and up again, one step at a time, leaving no tables behind', async () => {
    const scratch = await createScratchDatabase();
    const tables = () =>
      scratch
        .db('information_schema.tables')
        .whereIn('table_schema', ['auth', 'image', 'bus'])
        .pluck('table_name');
    try {
      const all = await listMigrations();
      expect(await migrateLatest(scratch.db)).toEqual(all);
      const upTables = await tables();
      for (let i = all.length - 1; i >= 0; i--) {
        expect(await migrateDown(scratch.db)).toEqual([all[i]]);
      }
      expect(await tables()).toEqual([]);
      expect(await migrateLatest(scratch.db)).toEqual(all);
      expect((await tables()).sort()).toEqual(upTables.sort());
      expect((await migrateRollbackAll(scratch.db)).length).toBe(all.length);
    } finally {
      await scratch.drop();
    }
  });

  it('run once when two migrators start at the same time, and neither fails (advisory lock)', async () => {
    const scratch = await createScratchDatabase();
    const second = createDb({ url: scratch.url, applicationName: 'replica-2', poolMax: 2 });
    try {
      // Both succeed (neither replica crashes on the other's knex_migrations), one of them applying all.
      const [first, other] = await Promise.all([migrateLatest(scratch.db), migrateLatest(second)]);
      expect([...first, ...other].sort()).toEqual((await listMigrations()).sort());
      const rows = await scratch.db('knex_migrations').count<{ count: string }[]>('* as count');
      expect(Number(rows[0]!.count)).toBe((await listMigrations()).length);
    } finally {
      await second.destroy();
      await scratch.drop();
    }
  });
});
