/**
 * `npm start`: the whole system on one machine with nothing else installed. Starts an embedded
 * Postgres (unless DATABASE_URL points at a real one), runs the migrations, then each service as
 * its own process, the way they run in Kubernetes, and prints where the gateway listens.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { EmbeddedDatabase } from '@imagehub/db';
import { logLevel, nodeEnv, optionalString, parseEnv, port } from '@imagehub/service-kit';
import { z } from 'zod';
import {
  ROOT,
  runMigrations,
  SERVICE_ORDER,
  type ServiceName,
  serviceEntry,
  serviceEnvironment,
  spawnService,
  startEmbeddedDatabase,
  stopProcess,
  waitUntilReady,
} from './system';
import { ensureWebBuilt } from './web-build';

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
    AUTH_JWKS_URL: optionalString,
    AUTH_SUBGRAPH_URL: optionalString,
    IMAGE_SUBGRAPH_URL: optionalString,
    PUBLIC_URL: optionalString,
    TRUST_PROXY: optionalString,
    AUTH_HOST: optionalString,
    IMAGE_HOST: optionalString,
    METRICS_HOST: optionalString,
    GATEWAY_METRICS_PORT: port(9400),
    AUTH_METRICS_PORT: port(9401),
    IMAGE_METRICS_PORT: port(9402),
  }),
  process.env,
);

const PORTS: Record<ServiceName, number> = {
  'subgraph-auth': config.AUTH_PORT,
  'subgraph-image': config.IMAGE_PORT,
  gateway: config.GATEWAY_PORT,
};

const METRICS_PORTS: Record<ServiceName, number> = {
  'subgraph-auth': config.AUTH_METRICS_PORT,
  'subgraph-image': config.IMAGE_METRICS_PORT,
  gateway: config.GATEWAY_METRICS_PORT,
};

const children = new Map<ServiceName, ChildProcess>();
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
  const started = await startEmbeddedDatabase({
    dataDir,
    port: config.EMBEDDED_PG_PORT,
    database: 'imagehub',
  });
  embedded = started.server;
  return started.url;
}

function startService(name: ServiceName, databaseUrl: string): void {
  const child = spawnService(
    name,
    serviceEnvironment({
      ports: PORTS,
      databaseUrl,
      dataDir: path.resolve(ROOT, config.DATA_DIR),
      nodeEnv: config.NODE_ENV,
      logLevel: config.LOG_LEVEL,
      publicUrl: `http://localhost:${config.GATEWAY_PORT}`,
      metricsPorts: METRICS_PORTS,
      // Where the services find each other when the ports are moved; explicit settings win.
      overrides: {
        AUTH_JWKS_URL: config.AUTH_JWKS_URL,
        AUTH_SUBGRAPH_URL: config.AUTH_SUBGRAPH_URL,
        IMAGE_SUBGRAPH_URL: config.IMAGE_SUBGRAPH_URL,
        PUBLIC_URL: config.PUBLIC_URL,
        TRUST_PROXY: config.TRUST_PROXY,
        AUTH_HOST: config.AUTH_HOST,
        IMAGE_HOST: config.IMAGE_HOST,
        METRICS_HOST: config.METRICS_HOST,
      },
    }),
  );
  child.once('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
    void stopAll(1);
  });
  children.set(name, child);
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Reverse order: the gateway stops taking requests before the subgraphs it calls.
  for (const name of [...SERVICE_ORDER].reverse()) {
    const child = children.get(name);
    if (child) await stopProcess(child);
  }
  await embedded?.stop().catch(() => {});
  process.exit(exitCode);
}

async function main(): Promise<void> {
  const started = Date.now();
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  ensureWebBuilt(say);
  const databaseUrl = await prepareDatabase();
  const applied = await runMigrations(databaseUrl);
  say(applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
  // While a service is still being written it has no entry point yet; start the ones that exist.
  const available = SERVICE_ORDER.filter((name) => existsSync(serviceEntry(name)));
  for (const name of available) {
    if (stopping) return;
    say(`starting ${name} on port ${PORTS[name]}`);
    startService(name, databaseUrl);
    await waitUntilReady(PORTS[name], config.READY_TIMEOUT_MS, () => stopping);
  }
  if (stopping) return;
  const front = available.includes('gateway') ? 'gateway' : available[0];
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (front)
    say(
      `ready in ${seconds} s: the app at http://localhost:${PORTS[front]}/, GraphQL at /graphql (Ctrl+C stops)`,
    );
  say(
    `metrics: http://127.0.0.1:{${METRICS_PORTS.gateway},${METRICS_PORTS['subgraph-auth']},${METRICS_PORTS['subgraph-image']}}/metrics (gateway, auth, image)`,
  );
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  if (children.size > 0 || embedded) void stopAll(1);
  else process.exit(1);
});
