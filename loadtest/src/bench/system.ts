/**
 * Starts the system for the bench the way `npm start` does (scripts/system.ts: embedded Postgres,
 * migrations, each service in a process of its own), on free ports and a throwaway data folder,
 * plus the peer gateways it is compared with, over the same subgraphs and supergraph.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { freePort } from '@imagehub/db';
import { parse } from 'graphql';
import type { ProcessName } from '../../../scripts/system';
import * as launcher from '../../../scripts/system';

export type PeerName = 'apollo-stock' | 'hive';

export interface RunningSystem {
  databaseUrl: string;
  dataDir: string;
  ports: Record<ProcessName, number>;
  urls: { gateway: string; auth: string; image: string };
  pids: Record<ProcessName, number>;
  /** The postmaster; its children are the backends. */
  postgresPid: number;
  supergraphPath: string;
  startPeer(name: PeerName): Promise<{ url: string; pid: number; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  log: (message: string) => void;
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

export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
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
  const children: Array<{ name: string; child: ChildProcess }> = [];
  const stop = async () => {
    stopping = true;
    for (const { child } of [...children].reverse()) await launcher.stopProcess(child).catch(() => {});
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
      nodeEnv: 'development',
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
        ACCESS_TOKEN_TTL: '7200',
        ACCESS_TOKEN_MAX_TTL: '7200',
        // Nothing is in flight when the bench stops the services; don't wait out the production drain.
        SHUTDOWN_DRAIN_MS: '1000',
        ...options.env,
      },
    });
    const pids = {} as Record<ProcessName, number>;
    for (const name of launcher.SERVICE_ORDER) {
      options.log(`starting ${name} on port ${ports[name]}`);
      const child = options.nodeFlags?.length
        ? spawn(
            process.execPath,
            [
              ...options.nodeFlags,
              '--conditions=development',
              '--import',
              'tsx',
              launcher.serviceEntry(name),
            ],
            { cwd: launcher.ROOT, stdio: ['ignore', 'pipe', 'pipe'], env },
          )
        : launcher.spawnService(name, env, 'pipe');
      children.push({ name, child });
      watchExit(name, child, tail(child), () => stopping);
      pids[name] = child.pid as number;
      await launcher.waitUntilReady(ports[name], readyTimeoutMs, () => child.exitCode !== null);
      if (child.exitCode !== null) throw new Error(`${name} exited during start (code ${child.exitCode})`);
    }
    const supergraphPath = path.join(dataDir, 'supergraph.graphql');
    writeFileSync(supergraphPath, composeFor(urls));

    const startPeer = async (name: PeerName) => {
      const port = await freePort();
      const entry = path.join(__dirname, 'peers', `${name}.ts`);
      const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', entry], {
        cwd: launcher.ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NODE_ENV: 'production',
          PEER_PORT: String(port),
          SUPERGRAPH_PATH: supergraphPath,
        },
      });
      children.push({ name, child });
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
    return { databaseUrl, dataDir, ports, urls, pids, postgresPid, supergraphPath, startPeer, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
