import { randomBytes } from 'node:crypto';
import { createDb, type Knex } from '../connection';
import { adminUrlFor } from './state';

/**
 * A brand-new empty database on the test server, for tests that must start from nothing
 * (migrations up and down). Dropped by `drop()`.
 */
export async function createScratchDatabase(): Promise<{ url: string; db: Knex; drop(): Promise<void> }> {
  const serverUrl = process.env.IMAGEHUB_TEST_SERVER_URL;
  if (!serverUrl) throw new Error('IMAGEHUB_TEST_SERVER_URL is not set: run tests through jest');
  const name = `imagehub_scratch_${randomBytes(4).toString('hex')}`;
  const admin = createDb({ url: adminUrlFor(serverUrl), applicationName: 'scratch', poolMax: 1 });
  await admin.raw(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createDb({ url: url.toString(), applicationName: 'scratch', poolMax: 2 });
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.destroy();
      await admin.raw(`drop database if exists "${name}" with (force)`);
      await admin.destroy();
    },
  };
}
