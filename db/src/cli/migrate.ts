/**
 * `npm run migrate [-- down|rollback-all|list]`: runs the migrations on their own, as the
 * Kubernetes migrations Job does. Against DATABASE_URL when set, else the embedded Postgres.
 */
import { loadDbConfig } from '../config';
import { createDb } from '../connection';
import { startEmbeddedPostgres } from '../embedded';
import { listMigrations, migrateDown, migrateLatest, migrateRollbackAll } from '../migrator';

async function main(): Promise<void> {
  const config = loadDbConfig(process.env);
  const command = process.argv[2] ?? 'latest';
  if (command === 'list') {
    for (const name of await listMigrations()) console.log(name);
    return;
  }
  const embedded = config.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT });
  const db = createDb({ url: config.DATABASE_URL ?? embedded!.url, applicationName: 'migrate', poolMax: 2 });
  try {
    const run = { latest: migrateLatest, down: migrateDown, 'rollback-all': migrateRollbackAll }[command];
    if (!run) throw new Error(`Unknown command "${command}": use latest, down, rollback-all or list`);
    const names = await run(db);
    console.log(names.length ? `${command}: ${names.join(', ')}` : `${command}: nothing to do`);
  } finally {
    await db.destroy();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
