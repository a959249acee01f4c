import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';

/** Migration files are named `YYYYMMDDhhmm_what_it_does.ts` (or `.js` once compiled). */
const MIGRATION_FILE = /^\d{12}_[a-z0-9_]+\.(ts|js)$/;
const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Lists migrations by their file stem, so the recorded names are the same whether they run from
 * TypeScript sources (development, tests) or compiled JavaScript (container images).
 */
class FolderMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return readdirSync(MIGRATIONS_DIR)
      .filter((file) => MIGRATION_FILE.test(file))
      .map((file) => file.replace(/\.(ts|js)$/, ''))
      .sort();
  }

  getMigrationName(name: string): string {
    return name;
  }

  async getMigration(name: string): Promise<MigrationModule> {
    return require(path.join(MIGRATIONS_DIR, name)) as MigrationModule;
  }
}

const config = (): Knex.MigratorConfig => ({
  migrationSource: new FolderMigrationSource(),
  tableName: 'knex_migrations',
  // knex takes a lock row in `knex_migrations_lock`, so replicas that start at once run each migration once.
  disableMigrationsListValidation: false,
});

/** The session-level advisory lock every migrator takes first; any number, the same everywhere. */
const MIGRATION_LOCK_KEY = 71_700_001;

/**
 * Runs a migration step while holding the migration advisory lock, taken on a connection of its
 * own (the step uses the pool's; a pool of one would otherwise wait for itself). knex's lock row
 * is not enough on a fresh database: two replicas starting at once both create knex_migrations,
 * and one fails with "relation already exists" (seen in CI's concurrent-migrators test).
 */
async function underMigrationLock(
  db: Knex,
  step: (migrator: Knex.Migrator) => Promise<[number, string[]]>,
): Promise<string[]> {
  const client = new pg.Client(db.client.config.connection as pg.ClientConfig);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const [, names] = await step(db.migrate);
    return names;
  } finally {
    // Ending the session releases the lock too, also when the unlock cannot be sent.
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end().catch(() => {});
  }
}

/** The migrations applied, by name. */
export function migrateLatest(db: Knex): Promise<string[]> {
  return underMigrationLock(db, (migrator) => migrator.latest(config()));
}

/** The one migration reverted, by name. */
export function migrateDown(db: Knex): Promise<string[]> {
  return underMigrationLock(db, (migrator) => migrator.down(config()));
}

/** Every migration reverted, by name. */
export function migrateRollbackAll(db: Knex): Promise<string[]> {
  return underMigrationLock(db, (migrator) => migrator.rollback(config(), true));
}

export async function listMigrations(): Promise<string[]> {
  return new FolderMigrationSource().getMigrations();
}
