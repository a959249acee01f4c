/**
 * Pieces for running the real system as separate processes: used by `npm start`, the benchmark
 * and the fault suite, so all three run the services exactly the same way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createDb, type EmbeddedDatabase, migrateLatest, startEmbeddedPostgres } from '@imagehub/db';
import { eventually } from '@imagehub/service-kit';

export const ROOT = path.resolve(__dirname, '..');

/** The services with a GraphQL API. */
export type ServiceName = 'subgraph-auth' | 'subgraph-image' | 'gateway';
/** Every process of the system: the services and the image worker (no API, a health port only). */
export type ProcessName = ServiceName | 'image-worker';

/**
 * Start order: the image subgraph loads the auth subgraph's JWKS, its uploads need a worker, the
 * gateway needs both subgraphs.
 */
export const SERVICE_ORDER: ProcessName[] = ['subgraph-auth', 'subgraph-image', 'image-worker', 'gateway'];

export const serviceEntry = (name: ProcessName) =>
  name === 'image-worker'
    ? path.join(ROOT, 'subgraph-image', 'src', 'worker', 'main.ts')
    : path.join(ROOT, name, 'src', 'main.ts');

export interface SystemWiring {
  /** Service ports; the worker's is its health port (`/healthz`, `/readyz`). */
  ports: Record<ProcessName, number>;
  databaseUrl: string;
  dataDir: string;
  nodeEnv: string;
  logLevel: string;
  /** Origin of the signed image URLs (the gateway as clients reach it); default the gateway on 127.0.0.1. */
  publicUrl?: string;
  /** Where each process serves `/metrics` (on 127.0.0.1); default 9400 gateway, 9401 auth, 9402 image, 9403 worker. */
  metricsPorts?: Record<ProcessName, number>;
  /** Settings that win over the derived ones; an undefined value keeps the derived one. */
  overrides?: Record<string, string | undefined>;
}

/**
 * The one place that wires the services to each other and to the database: `npm start`, the
 * bench and the test suites all build a service's environment here, so a new variable is one edit.
 * Every service gets the whole set; each one's config reads only its own names.
 */
export function serviceEnvironment(
  wiring: SystemWiring,
  base: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  const { ports } = wiring;
  const local = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
  const derived: Record<string, string> = {
    NODE_ENV: wiring.nodeEnv,
    LOG_LEVEL: wiring.logLevel,
    DATA_DIR: wiring.dataDir,
    DATABASE_URL: wiring.databaseUrl,
    AUTH_PORT: String(ports['subgraph-auth']),
    IMAGE_PORT: String(ports['subgraph-image']),
    WORKER_PORT: String(ports['image-worker']),
    GATEWAY_PORT: String(ports.gateway),
    AUTH_JWKS_URL: `${local('subgraph-auth')}/.well-known/jwks.json`,
    AUTH_SUBGRAPH_URL: `${local('subgraph-auth')}/graphql`,
    IMAGE_SUBGRAPH_URL: `${local('subgraph-image')}/graphql`,
    PUBLIC_URL: wiring.publicUrl ?? local('gateway'),
    // The subgraphs sit behind the gateway, which appends the client's address to X-Forwarded-For
    // (only the auth subgraph reads it, for its per-address throttles). Only the gateway's address
    // is believed: a client on this machine bound to another one (127.0.0.2) is not a proxy.
    TRUST_PROXY: '127.0.0.1',
    // Only the gateway talks to the subgraphs: they listen on loopback, the gateway everywhere.
    AUTH_HOST: '127.0.0.1',
    IMAGE_HOST: '127.0.0.1',
    WORKER_HOST: '127.0.0.1',
    // Each service's /metrics on a port of its own, on loopback.
    METRICS_HOST: '127.0.0.1',
    GATEWAY_METRICS_PORT: String(wiring.metricsPorts?.gateway ?? 9400),
    AUTH_METRICS_PORT: String(wiring.metricsPorts?.['subgraph-auth'] ?? 9401),
    IMAGE_METRICS_PORT: String(wiring.metricsPorts?.['subgraph-image'] ?? 9402),
    WORKER_METRICS_PORT: String(wiring.metricsPorts?.['image-worker'] ?? 9403),
  };
  const overrides = Object.fromEntries(
    Object.entries(wiring.overrides ?? {}).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  return { ...base, ...derived, ...overrides };
}

/**
 * Starts (creating on first use) an embedded Postgres and a database in it; returns the
 * database's URL and the server handle.
 */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  port: number;
  database: string;
  ephemeral?: boolean;
  onLog?: (message: string) => void;
}): Promise<{ url: string; server: EmbeddedDatabase }> {
  const server = await startEmbeddedPostgres({
    dataDir: options.dataDir,
    port: options.port,
    ephemeral: options.ephemeral,
    onLog: options.onLog,
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

/**
 * Runs one service from its TypeScript sources in a process of its own. `detached` puts it in a
 * process group of its own, so that a terminal's Ctrl+C reaches only the supervisor, which then
 * stops everything in order.
 */
export function spawnService(
  name: ProcessName,
  env: Record<string, string | undefined>,
  stdio: 'inherit' | 'pipe' | 'ignore' = 'inherit',
  detached = false,
): ChildProcess {
  return spawn(process.execPath, ['--conditions=development', '--import', 'tsx', serviceEntry(name)], {
    cwd: ROOT,
    stdio: ['ignore', stdio, stdio],
    env,
    detached,
  });
}

/**
 * Starts the embedded Postgres in a process of its own (scripts/postgres-process.ts) and resolves
 * with its URL once it accepts connections; rejects with Postgres's own explanation if it cannot start.
 * SIGTERM to the child stops Postgres cleanly.
 */
export async function startPostgresProcess(options: {
  dataDir: string;
  port: number;
  detached?: boolean;
}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnPostgresProcess(options);
  return { child, url: await postgresUrl(child) };
}

export function spawnPostgresProcess(options: { dataDir: string; port: number; detached?: boolean }) {
  return spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      path.join(ROOT, 'scripts', 'postgres-process.ts'),
      options.dataDir,
      String(options.port),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false },
  );
}

/** The URL a Postgres process prints once it accepts connections; its own explanation if it exits first. */
export async function postgresUrl(child: ChildProcess): Promise<string> {
  let stdout = '';
  let stderr = '';
  return new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('exit', (code, signal) =>
      reject(new Error(stderr.trim() || `embedded Postgres exited (${signal ?? `code ${code}`})`)),
    );
  });
}

/** Polls `/readyz` until it answers 200, or throws after `timeoutMs`; returns early once `shouldStop()`. */
export async function waitUntilReady(
  port: number,
  timeoutMs: number,
  shouldStop = () => false,
): Promise<void> {
  await waitUntilAnswers(`http://127.0.0.1:${port}/readyz`, timeoutMs, shouldStop);
}

/**
 * Polls `url` until it answers 2xx (`init` for a POST), or throws after `timeoutMs`; returns early,
 * without an error, once `shouldStop()` (the process being waited for exited: the caller says why).
 */
export async function waitUntilAnswers(
  url: string,
  timeoutMs: number,
  shouldStop = () => false,
  init: RequestInit = {},
): Promise<void> {
  await eventually(
    `${url} answering`,
    timeoutMs,
    async () => {
      if (shouldStop()) return true;
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(1_000) });
      if (response.ok) return true;
      // Thrown, not false: the message at the time limit is then the latest answer ("answered 503"),
      // not the "fetch failed" of an attempt before the process was listening.
      const body = (await response.text()).slice(0, 200);
      throw new Error(`answered HTTP ${response.status}${body ? ` ${body}` : ''}`);
    },
    200,
  );
}

/** Sends SIGTERM and resolves when the process has exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}
