/**
 * `npm start`: the whole system on one machine with nothing else installed, supervised. Starts an
 * embedded Postgres (unless DATABASE_URL points at a real one) in a process of its own, runs the
 * migrations, then each service as its own process, the way they run in Kubernetes, and prints
 * where the gateway listens. A service that dies is started again with backoff while the others
 * keep serving; one that keeps dying is given up on, saying which and why. SIGTERM, SIGINT and
 * SIGHUP stop the services (gateway first), then Postgres, cleanly.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { logLevel, nodeEnv, optionalString, parseEnv, port } from '@imagehub/service-kit';
import { z } from 'zod';
import { browserRefusedPort, portInUse, unreachableByPostgresUser } from './preflight';
import { Supervisor, type Unit } from './supervisor';
import {
  type ProcessName,
  postgresUrl,
  ROOT,
  runMigrations,
  SERVICE_ORDER,
  serviceEntry,
  serviceEnvironment,
  spawnPostgresProcess,
  spawnService,
  waitUntilReady,
} from './system';
import { ensureWebBuilt } from './web-build';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

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
    /** The image worker's health port (/healthz, /readyz). */
    WORKER_PORT: port(4003),
    READY_TIMEOUT_MS: positiveInt(60_000),
    AUTH_JWKS_URL: optionalString,
    AUTH_SUBGRAPH_URL: optionalString,
    IMAGE_SUBGRAPH_URL: optionalString,
    PUBLIC_URL: optionalString,
    TRUST_PROXY: optionalString,
    AUTH_HOST: optionalString,
    IMAGE_HOST: optionalString,
    WORKER_HOST: optionalString,
    /** Jobs and events through RabbitMQ when set; through Postgres (the `bus` schema) otherwise. */
    AMQP_URL: optionalString,
    METRICS_HOST: optionalString,
    GATEWAY_METRICS_PORT: port(9400),
    AUTH_METRICS_PORT: port(9401),
    IMAGE_METRICS_PORT: port(9402),
    WORKER_METRICS_PORT: port(9403),
    /** First restart delay after a crash; doubles per crash in a row up to RESTART_BACKOFF_MAX_MS. */
    RESTART_BACKOFF_MS: positiveInt(500),
    RESTART_BACKOFF_MAX_MS: positiveInt(10_000),
    /** More crashes than this within CRASH_WINDOW_MS is a crash loop: npm start gives up. */
    MAX_CRASHES: positiveInt(5),
    CRASH_WINDOW_MS: positiveInt(60_000),
    /** How long a service may drain after SIGTERM before it is killed (its own drain is 10 s). */
    STOP_GRACE_MS: positiveInt(20_000),
  }),
  process.env,
);

const PORTS: Record<ProcessName, number> = {
  'subgraph-auth': config.AUTH_PORT,
  'subgraph-image': config.IMAGE_PORT,
  'image-worker': config.WORKER_PORT,
  gateway: config.GATEWAY_PORT,
};
const PORT_VARIABLES: Record<ProcessName, string> = {
  'subgraph-auth': 'AUTH_PORT',
  'subgraph-image': 'IMAGE_PORT',
  'image-worker': 'WORKER_PORT',
  gateway: 'GATEWAY_PORT',
};

const METRICS_PORTS: Record<ProcessName, number> = {
  'subgraph-auth': config.AUTH_METRICS_PORT,
  'subgraph-image': config.IMAGE_METRICS_PORT,
  'image-worker': config.WORKER_METRICS_PORT,
  gateway: config.GATEWAY_METRICS_PORT,
};
const METRICS_PORT_VARIABLES: Record<ProcessName, string> = {
  'subgraph-auth': 'AUTH_METRICS_PORT',
  'subgraph-image': 'IMAGE_METRICS_PORT',
  'image-worker': 'WORKER_METRICS_PORT',
  gateway: 'GATEWAY_METRICS_PORT',
};

let stopping = false;
/** A second signal sooner than this after the first is the same request, passed on by npm. */
const ECHO_WINDOW_MS = 1_000;

const supervisor = new Supervisor({
  log: say,
  initialBackoffMs: config.RESTART_BACKOFF_MS,
  maxBackoffMs: config.RESTART_BACKOFF_MAX_MS,
  maxCrashes: config.MAX_CRASHES,
  crashWindowMs: config.CRASH_WINDOW_MS,
  onGiveUp: (_unit, why) => {
    say(`giving up: ${why}`);
    void stopAll(1);
  },
});

function say(message: string): void {
  process.stdout.write(`[start] ${message}\n`);
}

/** Problems that would otherwise surface as a 60-second wait or a stack trace, found before anything starts. */
async function preflight(dataDir: string): Promise<string[]> {
  const problems: string[] = [];
  const names = Object.keys(PORTS) as ProcessName[];
  // Every port a service will bind, with the variable that sets it: a clash among them, or with
  // another program, would otherwise show up as one service's crash loop.
  const wanted = [
    ...names.map((name) => ({ variable: PORT_VARIABLES[name], port: PORTS[name], browsers: true })),
    ...names.map((name) => ({
      variable: METRICS_PORT_VARIABLES[name],
      port: METRICS_PORTS[name],
      browsers: false,
    })),
  ];
  const claimedBy = new Map<number, string>();
  for (const { variable, port, browsers } of wanted) {
    // Only the public ports serve browsers; the metrics ports serve Prometheus.
    const refused = browsers ? browserRefusedPort(port) : undefined;
    const earlier = claimedBy.get(port);
    if (refused) problems.push(`${variable}=${port}: ${refused}`);
    // Port 0 (a metrics port the system picks) cannot clash.
    else if (earlier && port !== 0)
      problems.push(`${variable}=${port}: ${earlier} is the same port; give each its own`);
    else if (await portInUse(port)) {
      problems.push(
        `${variable}=${port}: the port is in use by another program (another npm start?); stop it or choose another port`,
      );
    }
    claimedBy.set(port, claimedBy.get(port) ?? variable);
  }
  if (!config.DATABASE_URL) {
    if (await portInUse(config.EMBEDDED_PG_PORT)) {
      problems.push(
        `EMBEDDED_PG_PORT=${config.EMBEDDED_PG_PORT}: the port is in use by another program (a Postgres of your own, or an npm start still running?); stop it, choose another port with EMBEDDED_PG_PORT, or point DATABASE_URL at that Postgres`,
      );
    }
    const unreachable = unreachableByPostgresUser(dataDir);
    if (unreachable) problems.push(unreachable);
  }
  return problems;
}

function postgresUnit(dataDir: string, onUrl: (url: string) => void): Unit {
  return {
    name: 'postgres',
    // A fast shutdown ends connections and checkpoints; give a slow disk time for that.
    stopGraceMs: 30_000,
    forwardOutput: false,
    spawn: () => spawnPostgresProcess({ dataDir, port: config.EMBEDDED_PG_PORT, detached: true }),
    ready: async (child) => onUrl(await postgresUrl(child)),
  };
}

function serviceUnit(name: ProcessName, databaseUrl: string): Unit {
  return {
    name,
    stopGraceMs: config.STOP_GRACE_MS,
    forwardOutput: true,
    spawn: () =>
      spawnService(
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
            WORKER_HOST: config.WORKER_HOST,
            METRICS_HOST: config.METRICS_HOST,
          },
        }),
        'pipe',
        true,
      ),
    ready: (child) => {
      const exited = new Promise<never>((_, reject) =>
        child.once('exit', (code, signal) =>
          reject(new Error(`${name} exited during start-up (${signal ?? `exit code ${code}`})`)),
        ),
      );
      const ready = waitUntilReady(
        PORTS[name],
        config.READY_TIMEOUT_MS,
        () => child.exitCode !== null || stopping,
      ).catch((error: Error) => {
        // The one unit whose readiness is another server's: say which, rather than leave "503".
        if (name === 'image-worker' && config.AMQP_URL)
          throw new Error(`${error.message}; the worker is ready once it reaches the broker at AMQP_URL`);
        throw error;
      });
      return Promise.race([exited, ready]);
    },
  };
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping: services first (gateway first), then Postgres');
  await supervisor.stop();
  say('stopped');
  process.exit(exitCode);
}

async function main(): Promise<void> {
  const started = Date.now();
  let firstSignalAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (!stopping) {
        firstSignalAt = Date.now();
        say(`${signal}: stopping`);
        void stopAll(0);
        return;
      }
      // The same signal twice at once is one request: a signal to npm's process group (a terminal's
      // Ctrl+C, `kill -- -PGID`, a service manager) reaches this process and npm, which passes it on.
      if (Date.now() - firstSignalAt < ECHO_WINDOW_MS) return;
      // A second signal while stopping: the user means it.
      say(`${signal} again: killing everything now`);
      supervisor.killAll('SIGKILL');
      process.exit(1);
    });
  }
  // Should this process die of something unexpected, its children must not outlive it.
  process.on('exit', () => supervisor.killAll('SIGTERM'));

  const dataDir = path.resolve(ROOT, config.DATA_DIR);
  const problems = await preflight(dataDir);
  if (problems.length > 0) {
    say(`cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }

  ensureWebBuilt(say);

  let databaseUrl = config.DATABASE_URL;
  if (databaseUrl) {
    say('using the Postgres at DATABASE_URL');
  } else {
    say(`starting embedded Postgres (data in ${dataDir}, port ${config.EMBEDDED_PG_PORT})`);
    await supervisor.add(
      postgresUnit(dataDir, (url) => {
        databaseUrl = url;
      }),
    );
  }
  const applied = await runMigrations(databaseUrl!);
  say(applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
  say(
    config.AMQP_URL
      ? 'jobs and events travel through RabbitMQ (AMQP_URL)'
      : 'jobs and events travel through Postgres (set AMQP_URL to use RabbitMQ)',
  );
  // While a service is still being written it has no entry point yet; start the ones that exist.
  const available = SERVICE_ORDER.filter((name) => existsSync(serviceEntry(name)));
  for (const name of available) {
    if (stopping) return;
    say(`starting ${name} on port ${PORTS[name]}`);
    await supervisor.add(serviceUnit(name, databaseUrl!));
  }
  if (stopping) return;
  const front = available.includes('gateway') ? 'gateway' : available[0];
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (front)
    say(
      `ready in ${seconds} s: the app at http://localhost:${PORTS[front]}/, GraphQL at /graphql (Ctrl+C stops)`,
    );
  say(
    `metrics: http://127.0.0.1:{${METRICS_PORTS.gateway},${METRICS_PORTS['subgraph-auth']},${METRICS_PORTS['subgraph-image']},${METRICS_PORTS['image-worker']}}/metrics (gateway, auth, image, worker)`,
  );
}

main().catch((error: unknown) => {
  if (stopping) return;
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});
