/**
 * Starts the system for the bench the way it runs in production (or, with `--dev`, the way
 * `npm start` runs it for development): an embedded Postgres on a throwaway data folder, the
 * migrations, each service in a process of its own (scripts/system.ts wires them), on free ports,
 * plus the peer gateways it is compared with, over the same subgraphs and supergraph.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { freePort } from '@imagehub/db';
import { parse } from 'graphql';
import type { ProcessName, ServiceName } from '../../../scripts/system';
import * as launcher from '../../../scripts/system';
import { childPids } from './cpu';

export type PeerName = 'apollo-stock' | 'hive';

/**
 * How the services run. `production`: NODE_ENV=production with keys generated for the run (as a
 * deployment is given them); `compiled` runs each service's tsc output (`dist/main.js`, what the
 * container images run) with plain `node`, otherwise the TypeScript sources through tsx.
 * `development`: `npm start`'s way (tsx, NODE_ENV=development, keys generated into DATA_DIR).
 */
export interface RunMode {
  nodeEnv: 'production' | 'development';
  compiled: boolean;
}

export function describeMode(mode: RunMode): string {
  if (mode.nodeEnv === 'development')
    return 'development (TypeScript sources through tsx, NODE_ENV=development)';
  return mode.compiled
    ? 'production (compiled dist/main.js under plain node, NODE_ENV=production, keys generated for the run)'
    : 'production (TypeScript sources through tsx, NODE_ENV=production, keys generated for the run)';
}

/** The workspaces `npm run build` compiles that the services need (the web app is not measured). */
export const SERVICE_WORKSPACES = [
  '@imagehub/service-kit',
  '@imagehub/db',
  '@imagehub/messaging',
  '@imagehub/subgraph-auth',
  '@imagehub/subgraph-image',
  '@imagehub/gateway',
];

/** Newest and oldest modification time of the files under `dir` (ms), or undefined when it is empty or absent. */
function mtimes(
  dir: string,
  include: (file: string) => boolean,
): { newest: number; oldest: number } | undefined {
  if (!existsSync(dir)) return undefined;
  let newest = Number.NEGATIVE_INFINITY;
  let oldest = Number.POSITIVE_INFINITY;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (!include(file)) continue;
    const { mtimeMs } = statSync(file);
    newest = Math.max(newest, mtimeMs);
    oldest = Math.min(oldest, mtimeMs);
  }
  return Number.isFinite(newest) ? { newest, oldest } : undefined;
}

/**
 * Whether every service workspace's dist/ was compiled after its last source change (tsc rewrites
 * every output, so the oldest output is younger than the build's start).
 */
export function servicesCompiled(root = launcher.ROOT): boolean {
  return SERVICE_WORKSPACES.every((name) => {
    const dir = path.join(root, name.replace('@imagehub/', ''));
    const sources = mtimes(path.join(dir, 'src'), (f) => !/\.test\.ts$/.test(f));
    const output = mtimes(path.join(dir, 'dist'), () => true);
    return sources !== undefined && output !== undefined && output.oldest > sources.newest;
  });
}

/** Compiles the services (tsc into each workspace's dist/), in `root` (a checkout of this repository). */
export function buildServices(root = launcher.ROOT): void {
  const workspaces = SERVICE_WORKSPACES.flatMap((w) => ['-w', w]);
  const result = spawnSync('npm', ['run', 'build', '--silent', ...workspaces], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`npm run build failed in ${root} (exit ${result.status})`);
}

/** The image-processing worker (issue 14), where this checkout has one. */
const WORKER_SOURCE = path.join('subgraph-image', 'src', 'worker', 'main.ts');
export const hasWorker = (root = launcher.ROOT) => existsSync(path.join(root, WORKER_SOURCE));

/** Every CPU this process may use, as a `taskset -c` list (e.g. "0-1"). */
export function allCpus(): string {
  return allowedCpus(process.pid);
}

/** The CPUs a process may run on, from /proc/<pid>/status (Linux), or "?" once it is gone. */
export function allowedCpus(pid: number): string {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

export interface RunningSystem {
  mode: RunMode;
  databaseUrl: string;
  dataDir: string;
  ports: Record<ProcessName, number>;
  urls: { gateway: string; auth: string; image: string };
  pids: Record<ProcessName, number>;
  /** The postmaster; its children are the backends. */
  postgresPid: number;
  supergraphPath: string;
  startPeer(name: PeerName): Promise<{ url: string; pid: number; stop(): Promise<void> }>;
  /**
   * Stops the services (not Postgres) and starts them again on the same ports and database, from
   * the checkout at `root` (default: this one) with `env` added: the A/B comparisons of one run.
   */
  restartServices(options?: { root?: string; env?: Record<string, string> }): Promise<void>;
  /** The pids of the running image workers (none where this checkout has no worker). */
  workerPids(): number[];
  /** Starts one more worker process and waits until it is ready; resolves with its pid. */
  startWorker(): Promise<number>;
  /** Stops the most recently started worker. */
  stopWorker(): Promise<void>;
  /** Pins Postgres (postmaster and backends), every service and worker, all threads, to `cpus` (`taskset -c`). */
  pin(cpus: string): void;
  /**
   * Undoes `pin`: every CPU for the same processes. Backends forked later inherit the postmaster's
   * affinity, so a pinned postmaster would pin the connections of services started afterwards.
   */
  unpin(): void;
  /** The CPUs the postmaster may run on (`Cpus_allowed_list`, e.g. "0-1"), as the report shows it. */
  postgresCpus(): string;
  stop(): Promise<void>;
}

export interface SystemOptions {
  log: (message: string) => void;
  mode: RunMode;
  /** Extra environment for every service (e.g. LOG_LEVEL). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Extra Node flags for the services (e.g. --cpu-prof, which NODE_OPTIONS does not accept). */
  nodeFlags?: string[];
}

function composeFor(urls: { auth: string; image: string }): string {
  const subgraph = (name: string, dir: string, url: string) => ({
    name,
    url,
    typeDefs: parse(readFileSync(path.join(launcher.ROOT, dir, 'src/schema/schema.graphql'), 'utf8')),
  });
  const result = composeServices([
    subgraph('auth', 'subgraph-auth', `${urls.auth}/graphql`),
    subgraph('image', 'subgraph-image', `${urls.image}/graphql`),
  ]);
  if (result.errors) throw new Error(`composition failed: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.supergraphSdl;
}

function watchExit(name: string, child: ChildProcess, output: () => string, isStopping: () => boolean): void {
  child.once('exit', (code, signal) => {
    if (!isStopping()) {
      process.stderr.write(
        `[bench] ${name} exited (${signal ?? `code ${code}`}):\n${output().slice(-3000)}\n`,
      );
    }
  });
}

/** Keeps the last few KiB of a child's output for error messages without holding it all. */
function tail(child: ChildProcess): () => string {
  let kept = '';
  const keep = (chunk: Buffer) => {
    kept = (kept + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => kept;
}

/** What a deployment is given as secrets, made fresh for the run (production refuses to generate them). */
function productionSecrets(): Record<string, string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    JWT_PRIVATE_KEYS: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    URL_SIGNING_KEY: randomBytes(48).toString('base64url'),
  };
}

/** `node` arguments that run one service from the checkout at `root`, compiled or from sources. */
export function serviceArgs(
  name: ServiceName,
  mode: RunMode,
  root: string,
  nodeFlags: string[] = [],
): string[] {
  return entryArgs(path.relative(launcher.ROOT, launcher.serviceEntry(name)), mode, root, nodeFlags);
}

/** The same for an entry point given by its source path in the repository (e.g. the worker's). */
function entryArgs(source: string, mode: RunMode, root: string, nodeFlags: string[] = []): string[] {
  if (mode.compiled) {
    // What the images run: `node <workspace>/dist/main.js`, packages resolved to their dist/ too.
    const compiled = source
      .replace(`${path.sep}src${path.sep}`, `${path.sep}dist${path.sep}`)
      .replace(/\.ts$/, '.js');
    return [...nodeFlags, path.join(root, compiled)];
  }
  return [...nodeFlags, '--conditions=development', '--import', 'tsx', path.join(root, source)];
}

export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const { mode } = options;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imagehub-bench-'));
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  let stopping = false;
  options.log(`embedded Postgres in ${dataDir}`);
  const { url: databaseUrl, server } = await launcher.startEmbeddedDatabase({
    dataDir,
    port: 0,
    database: 'imagehub',
    ephemeral: true,
  });
  let services: Array<{ name: ServiceName; child: ChildProcess }> = [];
  const peers: ChildProcess[] = [];
  const workers: ChildProcess[] = [];
  /** Workers stopped on purpose (stopWorker): their exit is no news. */
  const stoppedWorkers = new Set<ChildProcess>();
  const stopServices = async () => {
    for (const { child } of [...services].reverse()) await launcher.stopProcess(child).catch(() => {});
    services = [];
  };
  const stop = async () => {
    stopping = true;
    for (const child of peers) await launcher.stopProcess(child).catch(() => {});
    await stopServices();
    for (const child of workers) await launcher.stopProcess(child).catch(() => {});
    await server.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await launcher.runMigrations(databaseUrl);
    const ports = {
      'subgraph-auth': await freePort(),
      'subgraph-image': await freePort(),
      'image-worker': await freePort(),
      gateway: await freePort(),
    } satisfies Record<ProcessName, number>;
    const urls = {
      gateway: `http://127.0.0.1:${ports.gateway}`,
      auth: `http://127.0.0.1:${ports['subgraph-auth']}`,
      image: `http://127.0.0.1:${ports['subgraph-image']}`,
    };
    const env = launcher.serviceEnvironment({
      ports,
      databaseUrl,
      dataDir,
      nodeEnv: mode.nodeEnv,
      // Access logs of every request would measure the terminal; warnings and errors still show.
      logLevel: 'warn',
      // /metrics of each service on a free port of its own (the defaults may be taken by npm start).
      metricsPorts: {
        'subgraph-auth': await freePort(),
        'subgraph-image': await freePort(),
        'image-worker': await freePort(),
        gateway: await freePort(),
      },
      overrides: {
        ...(mode.nodeEnv === 'production' ? productionSecrets() : {}),
        // Seeding registers hundreds of users from one address; the per-IP registration throttle
        // is a production safeguard that would stop it, and a benchmark run outlives a 15-minute token.
        REGISTRATIONS_PER_IP: '1000000',
        // The same for the upload limits: the bench uploads in parallel, from few users, from one address.
        UPLOAD_SLOTS_PER_USER: '1000',
        UPLOAD_SLOTS_PER_IP: '1000',
        UPLOAD_SLOTS: '64',
        UPLOADS_IN_FLIGHT_PER_USER: '1000',
        UPLOADS_IN_FLIGHT: '64',
        UPLOADS_PER_MINUTE: '1000000',
        UPLOAD_QUOTA_BYTES: '0',
        // The login scenarios log the same few accounts in from one address, far past the caps on
        // successful logins per account and per address that protect a real deployment.
        LOGINS_PER_IP: '1000000',
        LOGINS_PER_ACCOUNT: '1000000',
        // Those logins open a session each; past the per-user bound the oldest would be revoked, and
        // the readers' tokens with them.
        MAX_SESSIONS_PER_USER: '1000000',
        ACCESS_TOKEN_TTL: '7200',
        ACCESS_TOKEN_MAX_TTL: '7200',
        // Nothing is in flight when the bench stops the services; don't wait out the production drain.
        SHUTDOWN_DRAIN_MS: '1000',
        ...options.env,
      },
    });
    const pids = {} as Record<ProcessName, number>;
    const startServices = async (root: string, extraEnv: Record<string, string>) => {
      // The workers are started (and counted: one vs two) by startWorker below, not with the services.
      const serviceNames = launcher.SERVICE_ORDER.filter((n): n is ServiceName => n !== 'image-worker');
      // All at once: each spends about a second loading its modules, and none needs another to
      // start (the gateway's /readyz waits for the subgraphs' own), so waiting for one before
      // starting the next only added those seconds up, at every start and every restart.
      await Promise.all(
        serviceNames.map(async (name) => {
          options.log(
            `starting ${name} on port ${ports[name]}${root === launcher.ROOT ? '' : ` from ${root}`}`,
          );
          const child = spawn(process.execPath, serviceArgs(name, mode, root, options.nodeFlags), {
            cwd: root,
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...env, ...extraEnv },
          });
          services.push({ name, child });
          watchExit(name, child, tail(child), () => stopping);
          pids[name] = child.pid as number;
          await launcher.waitUntilReady(ports[name], readyTimeoutMs, () => child.exitCode !== null);
          if (child.exitCode !== null)
            throw new Error(`${name} exited during start (code ${child.exitCode})`);
        }),
      );
    };
    // Workers take jobs from the database (no AMQP_URL: the embedded transport) and need no
    // service to be up (the first starts beside them); they outlive restartServices.
    const startWorker = async () => {
      const port = await freePort();
      options.log(`starting an image worker (ready on port ${port})`);
      const child = spawn(
        process.execPath,
        entryArgs(WORKER_SOURCE, mode, launcher.ROOT, options.nodeFlags),
        {
          cwd: launcher.ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...env, WORKER_PORT: String(port), WORKER_METRICS_PORT: String(await freePort()) },
        },
      );
      workers.push(child);
      watchExit('image worker', child, tail(child), () => stopping || stoppedWorkers.has(child));
      await launcher.waitUntilReady(port, readyTimeoutMs, () => child.exitCode !== null);
      if (child.exitCode !== null)
        throw new Error(`image worker exited during start (code ${child.exitCode})`);
      return child.pid as number;
    };
    const stopWorker = async () => {
      const child = workers.pop();
      if (!child) return;
      stoppedWorkers.add(child);
      await launcher.stopProcess(child);
    };
    await Promise.all([startServices(launcher.ROOT, {}), hasWorker() ? startWorker() : undefined]);
    const restartServices = async (restart: { root?: string; env?: Record<string, string> } = {}) => {
      stopping = true;
      await stopServices();
      stopping = false;
      await startServices(restart.root ?? launcher.ROOT, restart.env ?? {});
    };
    const supergraphPath = path.join(dataDir, 'supergraph.graphql');
    writeFileSync(supergraphPath, composeFor(urls));

    const startPeer = async (name: PeerName) => {
      const port = await freePort();
      const entry = path.join(__dirname, 'peers', `${name}.ts`);
      // The peers are their published JavaScript in production mode; tsx only loads the few lines here.
      const child = spawn(process.execPath, ['--import', 'tsx', entry], {
        cwd: launcher.ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NODE_ENV: 'production',
          PEER_PORT: String(port),
          SUPERGRAPH_PATH: supergraphPath,
        },
      });
      peers.push(child);
      const output = tail(child);
      let peerStopping = false;
      watchExit(name, child, output, () => stopping || peerStopping);
      // The peers have no /readyz: ready is when a trivial query answers.
      await launcher.waitUntilAnswers(
        `http://127.0.0.1:${port}/graphql`,
        readyTimeoutMs,
        () => child.exitCode !== null,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        },
      );
      if (child.exitCode !== null) throw new Error(`${name} exited during start: ${output()}`);
      return {
        url: `http://127.0.0.1:${port}`,
        pid: child.pid as number,
        stop: async () => {
          peerStopping = true;
          await launcher.stopProcess(child);
        },
      };
    };
    // Postgres writes its pid as the first line of postmaster.pid in its data folder.
    const postgresPid = Number(
      readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    const pinnable = () => [
      postgresPid,
      ...childPids(postgresPid),
      ...services.map((s) => s.child.pid as number),
      ...workers.map((w) => w.pid as number),
    ];
    const pin = (cpus: string) => {
      // Backends forked later inherit the postmaster's affinity; the running ones are pinned here.
      for (const pid of pinnable()) {
        const result = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
        if (result.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed`);
      }
    };
    return {
      mode,
      databaseUrl,
      dataDir,
      ports,
      urls,
      pids,
      postgresPid,
      supergraphPath,
      startPeer,
      restartServices,
      workerPids: () => workers.map((w) => w.pid as number),
      startWorker,
      stopWorker,
      pin,
      unpin: () => pin(allCpus()),
      postgresCpus: () => allowedCpus(postgresPid),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
