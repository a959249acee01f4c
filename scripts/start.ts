/**
 * `npm start`: the whole system on one machine with nothing else installed. Starts an embedded
 * Postgres (unless DATABASE_URL points at a real one), runs the migrations, then each service as
 * its own process, the way they run in Kubernetes, and prints where the gateway listens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createDb, type EmbeddedDatabase, migrateLatest, startEmbeddedPostgres } from '@imagehub/db';
import { logLevel, nodeEnv, optionalString, parseEnv, port } from '@imagehub/service-kit';
import { z } from 'zod';

const ROOT = path.resolve(__dirname, '..');
const DATABASE_NAME = 'imagehub';

const config = parseEnv(
  z.object({
    DATABASE_URL: optionalString,
    DATA_DIR: z.string().default('.data'),
    EMBEDDED_PG_PORT: port(54329),
    NODE_ENV: nodeEnv,
    LOG_LEVEL: logLevel,
    GATEWAY_PORT: port(4000),
    AUTH_PORT: port(4001),
    IMAGE_PORT: port(4002),
    READY_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  }),
  process.env,
);

interface Service {
  name: string;
  dir: string;
  port: number;
}

// Order matters: the image subgraph loads the auth subgraph's JWKS, the gateway needs both.
const SERVICES: Service[] = [
  { name: 'subgraph-auth', dir: 'subgraph-auth', port: config.AUTH_PORT },
  { name: 'subgraph-image', dir: 'subgraph-image', port: config.IMAGE_PORT },
  { name: 'gateway', dir: 'gateway', port: config.GATEWAY_PORT },
];

const children = new Map<string, ChildProcess>();
let embedded: EmbeddedDatabase | undefined;
let stopping = false;

function say(message: string): void {
  process.stdout.write(`[start] ${message}\n`);
}

async function prepareDatabase(): Promise<string> {
  if (config.DATABASE_URL) {
    say('using the Postgres at DATABASE_URL');
    return config.DATABASE_URL;
  }
  const dataDir = path.resolve(ROOT, config.DATA_DIR);
  say(`starting embedded Postgres (data in ${dataDir}, port ${config.EMBEDDED_PG_PORT})`);
  embedded = await startEmbeddedPostgres({ dataDir, port: config.EMBEDDED_PG_PORT });
  const admin = createDb({ url: embedded.url, applicationName: 'start', poolMax: 1 });
  try {
    const exists = await admin('pg_database').where({ datname: DATABASE_NAME }).first('datname');
    if (!exists) await admin.raw(`create database ${DATABASE_NAME}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(embedded.url);
  url.pathname = `/${DATABASE_NAME}`;
  return url.toString();
}

async function migrate(databaseUrl: string): Promise<void> {
  const db = createDb({ url: databaseUrl, applicationName: 'migrate', poolMax: 2 });
  try {
    const applied = await migrateLatest(db);
    say(applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
  } finally {
    await db.destroy();
  }
}

function startService(service: Service, databaseUrl: string): ChildProcess {
  const entry = path.join(ROOT, service.dir, 'src', 'main.ts');
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', entry], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: config.NODE_ENV,
      LOG_LEVEL: config.LOG_LEVEL,
      DATA_DIR: path.resolve(ROOT, config.DATA_DIR),
      DATABASE_URL: databaseUrl,
      GATEWAY_PORT: String(config.GATEWAY_PORT),
      AUTH_PORT: String(config.AUTH_PORT),
      IMAGE_PORT: String(config.IMAGE_PORT),
    },
  });
  child.once('exit', (code, signal) => {
    children.delete(service.name);
    if (stopping) return;
    say(`${service.name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
    void stopAll(1);
  });
  children.set(service.name, child);
  return child;
}

async function waitUntilReady(service: Service): Promise<void> {
  const deadline = Date.now() + config.READY_TIMEOUT_MS;
  const url = `http://127.0.0.1:${service.port}/readyz`;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${service.name} was not ready within ${config.READY_TIMEOUT_MS} ms (${url})`);
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Reverse order: the gateway stops taking requests before the subgraphs it calls.
  for (const service of [...SERVICES].reverse()) {
    const child = children.get(service.name);
    if (!child) continue;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
  await embedded?.stop().catch(() => {});
  process.exit(exitCode);
}

async function main(): Promise<void> {
  const started = Date.now();
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  const databaseUrl = await prepareDatabase();
  await migrate(databaseUrl);
  const available = SERVICES.filter((s) => existsSync(path.join(ROOT, s.dir, 'src', 'main.ts')));
  for (const service of available) {
    say(`starting ${service.name} on port ${service.port}`);
    startService(service, databaseUrl);
    await waitUntilReady(service);
  }
  const front = available.find((s) => s.name === 'gateway') ?? available[0];
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (front) say(`ready in ${seconds} s: GraphQL at http://localhost:${front.port}/graphql (Ctrl+C stops)`);
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  void (stopping ? undefined : (children.size || embedded ? stopAll(1) : process.exit(1)));
});
