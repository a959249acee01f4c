/**
 * Pieces for running the real system as separate processes: used by `npm start`, the benchmark
 * and the fault suite, so all three run the services exactly the same way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createDb, type EmbeddedDatabase, migrateLatest, startEmbeddedPostgres } from '@imagehub/db';

export const ROOT = path.resolve(__dirname, '..');

export type ServiceName = 'subgraph-auth' | 'subgraph-image' | 'gateway';

/** Start order: the image subgraph loads the auth subgraph's JWKS, the gateway needs both. */
export const SERVICE_ORDER: ServiceName[] = ['subgraph-auth', 'subgraph-image', 'gateway'];

export const serviceEntry = (name: ServiceName) => path.join(ROOT, name, 'src', 'main.ts');

/**
 * Starts (creating on first use) an embedded Postgres and a database in it; returns the
 * database's URL and the server handle.
 */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  port: number;
  database: string;
  ephemeral?: boolean;
}): Promise<{ url: string; server: EmbeddedDatabase }> {
  const server = await startEmbeddedPostgres({
    dataDir: options.dataDir,
    port: options.port,
    ephemeral: options.ephemeral,
  });
  const admin = createDb({ url: server.url, applicationName: 'launcher', poolMax: 1 });
  try {
    const exists = await admin('pg_database').where({ datname: options.database }).first('datname');
    if (!exists) await admin.raw('create database ??', [options.database]);
  } finally {
    await admin.destroy();
  }
  const url = new URL(server.url);
  url.pathname = `/${options.database}`;
  return { url: url.toString(), server };
}

export async function runMigrations(databaseUrl: string): Promise<string[]> {
  const db = createDb({ url: databaseUrl, applicationName: 'migrate', poolMax: 2 });
  try {
    return await migrateLatest(db);
  } finally {
    await db.destroy();
  }
}

/** Runs one service from its TypeScript sources in a process of its own. */
export function spawnService(
  name: ServiceName,
  env: Record<string, string | undefined>,
  stdio: 'inherit' | 'pipe' | 'ignore' = 'inherit',
): ChildProcess {
  return spawn(process.execPath, ['--conditions=development', '--import', 'tsx', serviceEntry(name)], {
    cwd: ROOT,
    stdio: ['ignore', stdio, stdio],
    env,
  });
}

/** Polls `/readyz` until it answers 200, or throws after `timeoutMs`. */
export async function waitUntilReady(
  port: number,
  timeoutMs: number,
  shouldStop = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const url = `http://127.0.0.1:${port}/readyz`;
  while (Date.now() < deadline && !shouldStop()) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (!shouldStop()) throw new Error(`service on port ${port} was not ready within ${timeoutMs} ms (${url})`);
}

/** Sends SIGTERM and resolves when the process has exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}
