/**
 * Jest global setup: gives the whole run one fresh, migrated database on a real Postgres.
 * `TEST_DATABASE_URL` (any server we may create databases on) when set, else an embedded
 * Postgres in a throw-away folder. Workers read the URL from IMAGEHUB_TEST_DB_URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb } from '../connection';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../embedded';
import { migrateLatest } from '../migrator';
import { adminUrlFor, state } from './state';

export default async function globalSetup(): Promise<void> {
  let serverUrl = process.env.TEST_DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (!serverUrl) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'imagehub-test-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir, port: 0, ephemeral: true });
    state.embeddedDataDir = dataDir;
    serverUrl = embedded.url;
  }
  const databaseName = `imagehub_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = createDb({ url: adminUrlFor(serverUrl), applicationName: 'jest-setup', poolMax: 1 });
  try {
    await admin.raw(`create database "${databaseName}"`);
  } finally {
    await admin.destroy();
  }
  const url = withDatabase(serverUrl, databaseName);
  const db = createDb({ url, applicationName: 'jest-setup', poolMax: 1 });
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy();
  }
  process.env.IMAGEHUB_TEST_DB_URL = url;
  process.env.IMAGEHUB_TEST_SERVER_URL = serverUrl;
  state.embedded = embedded;
  state.databaseName = databaseName;
  state.serverUrl = serverUrl;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
