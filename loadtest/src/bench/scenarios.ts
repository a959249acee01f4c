import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { meterCpu } from './cpu';
import type { LoadJob, LoadResult, RequestSpec } from './load/job';
import { runLoad } from './load/run';
import { sampleRss } from './rss';
import type { SeededImage, SeededUser } from './seed';
import type { PeerName, RunningSystem } from './system';

export interface BenchSettings {
  smoke: boolean;
  /** Seconds of each measured run. */
  seconds: number;
  warmupSeconds: number;
  readConnections: number;
  /**
   * Scenario 1 measures throughput, so it offers only what bcrypt's bounded queue admits (about
   * two per core): more connections measure the shedding, which scenario 3's flood does.
   */
  loginConnections: number;
  floodConnections: number;
  uploadCount: number;
  uploadConcurrency: number;
  uploadBytes: number;
  bcryptCost: number;
}

export const FEDERATED_READ =
  'query FederatedRead { me { id name images(first: 20) { edges { node { id url owner { name } } } } } }';
export const DIRECT_READ = 'query Me { me { id name } }';
const LOGIN =
  'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';

const json = { 'content-type': 'application/json' };

function graphqlRequests(users: SeededUser[], query: string): RequestSpec[] {
  return users.map((user) => ({
    method: 'POST',
    path: '/graphql',
    headers: { ...json, authorization: `Bearer ${user.accessToken}` },
    body: JSON.stringify({ query }),
  }));
}

function loginRequests(users: SeededUser[]): RequestSpec[] {
  return users.map((user) => ({
    method: 'POST',
    path: '/graphql',
    headers: json,
    body: JSON.stringify({ query: LOGIN, variables: { email: user.email, password: user.password } }),
  }));
}

/** The machine's bcrypt ceiling, measured in its own process on all cores. */
export function bcryptCeiling(
  cost: number,
  seconds: number,
): Promise<{ comparesPerSec: number; concurrency: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'bcrypt-ceiling.ts'), String(cost), String(seconds)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim()));
      else reject(new Error(`bcrypt ceiling process exited with ${code}`));
    });
  });
}

export interface LoginFigures {
  gateway: LoadResult;
  bcryptComparesPerSec: number;
  bcryptConcurrency: number;
  ratio: number;
}

export async function loginThroughput(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
): Promise<LoginFigures> {
  const gateway = await runLoad({
    label: 'login via gateway',
    url: system.urls.gateway,
    connections: s.loginConnections,
    duration: s.seconds,
    judge: { kind: 'graphql' },
    requests: loginRequests(users),
  });
  const ceiling = await bcryptCeiling(s.bcryptCost, Math.max(1, Math.min(s.seconds, 8)));
  return {
    gateway,
    bcryptComparesPerSec: ceiling.comparesPerSec,
    bcryptConcurrency: ceiling.concurrency,
    ratio: gateway.okPerSec / ceiling.comparesPerSec,
  };
}

export interface ReadTarget {
  name: string;
  query: 'federated' | 'direct';
  result: LoadResult;
  ratioToOurs: number;
  /**
   * CPU milliseconds per successful request, per process (from /proc): unlike requests/s, this
   * holds steady when other work shares the machine, and it says which process the time went to.
   */
  cpuMsPerRequest: Record<string, number>;
}

export interface ReadFigures {
  targets: ReadTarget[];
}

async function measureRead(
  label: string,
  url: string,
  query: string,
  users: SeededUser[],
  s: BenchSettings,
  processes: Record<string, { pid: number; tree?: boolean }>,
): Promise<{ result: LoadResult; cpuMsPerRequest: Record<string, number> }> {
  const job: LoadJob = {
    label,
    url,
    connections: s.readConnections,
    judge: { kind: 'graphql' },
    requests: graphqlRequests(users, query),
  };
  // JIT, query-plan caches and keep-alive pools warm up before the clock starts.
  if (s.warmupSeconds > 0) await runLoad({ ...job, label: `${label} (warm-up)`, duration: s.warmupSeconds });
  const meter = meterCpu(processes);
  const result = await runLoad({ ...job, duration: s.seconds });
  const cpuMs = meter.stop();
  const cpuMsPerRequest = Object.fromEntries(
    Object.entries(cpuMs).map(([name, ms]) => [name, result.ok ? ms / result.ok : Number.NaN]),
  );
  return { result, cpuMsPerRequest };
}

export async function federatedRead(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
  log: (m: string) => void,
): Promise<ReadFigures> {
  const results: Array<Omit<ReadTarget, 'ratioToOurs'>> = [];
  const subgraphs = {
    'subgraph-auth': { pid: system.pids['subgraph-auth'] },
    'subgraph-image': { pid: system.pids['subgraph-image'] },
    postgres: { pid: system.postgresPid, tree: true },
  };
  log('  our gateway');
  results.push({
    name: 'our gateway',
    query: 'federated',
    ...(await measureRead('read: our gateway', system.urls.gateway, FEDERATED_READ, users, s, {
      gateway: { pid: system.pids.gateway },
      ...subgraphs,
    })),
  });
  const peers: Array<[PeerName, string]> = [
    ['apollo-stock', 'stock @apollo/gateway'],
    ['hive', 'Hive Gateway'],
  ];
  for (const [peer, name] of peers) {
    log(`  ${name}`);
    const running = await system.startPeer(peer);
    try {
      results.push({
        name,
        query: 'federated',
        ...(await measureRead(`read: ${name}`, running.url, FEDERATED_READ, users, s, {
          gateway: { pid: running.pid },
          ...subgraphs,
        })),
      });
    } finally {
      await running.stop();
    }
  }
  log('  auth subgraph directly (me { id name })');
  results.push({
    name: 'auth subgraph direct',
    query: 'direct',
    ...(await measureRead('read: auth subgraph direct', system.urls.auth, DIRECT_READ, users, s, subgraphs)),
  });
  const ours = results[0]?.result.okPerSec ?? 0;
  return { targets: results.map((r) => ({ ...r, ratioToOurs: ours ? r.result.okPerSec / ours : 0 })) };
}

export interface FloodFigures {
  rate: number;
  quiet: LoadResult;
  underFlood: LoadResult;
  flood: LoadResult;
  p99Ratio: number;
}

export async function readUnderLoginFlood(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
  ourReadRps: number,
): Promise<FloodFigures> {
  // A fixed request rate (well below saturation) so that p99 measures waiting, not the queue
  // of a closed loop that is as long as its connection count.
  const rate = Math.max(20, Math.round(ourReadRps * 0.4));
  const read: LoadJob = {
    label: 'read at fixed rate',
    url: system.urls.gateway,
    connections: s.readConnections,
    overallRate: rate,
    duration: s.seconds,
    judge: { kind: 'graphql' },
    requests: graphqlRequests(users, FEDERATED_READ),
  };
  const quiet = await runLoad({ ...read, label: 'read, no flood' });
  const floodPromise = runLoad({
    label: 'login flood',
    url: system.urls.gateway,
    connections: s.floodConnections,
    duration: s.seconds + 2,
    judge: { kind: 'graphql' },
    requests: loginRequests(users),
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const underFlood = await runLoad({ ...read, label: 'read, during login flood' });
  const flood = await floodPromise;
  return {
    rate,
    quiet,
    underFlood,
    flood,
    p99Ratio: underFlood.latencyMs.p99 / Math.max(quiet.latencyMs.p99, 0.001),
  };
}

export interface UploadFigures {
  fileBytes: number;
  concurrency: number;
  gateway: LoadResult;
  gatewayMBps: number;
  rss: Record<string, { beforeBytes: number; peakBytes: number; hwmBytes: number }>;
  rawPg: { MBps: number; inserts: number; seconds: number };
  ratio: number;
}

/** The same bytes, the same concurrency, straight into Postgres with pg: what storage alone costs. */
async function rawPostgresInsert(databaseUrl: string, count: number, concurrency: number, bytes: number) {
  const pool = new Pool({ connectionString: databaseUrl, max: concurrency });
  const table = `bench_raw_${randomBytes(4).toString('hex')}`;
  try {
    await pool.query(`create table ${table} (id bigserial primary key, data bytea not null)`);
    const files = Array.from({ length: Math.min(count, 8) }, () => randomBytes(bytes));
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          await pool.query(`insert into ${table} (data) values ($1)`, [files[i % files.length]]);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { MBps: (count * bytes) / 1e6 / seconds, inserts: count, seconds };
  } finally {
    await pool.query(`drop table if exists ${table}`).catch(() => {});
    await pool.end();
  }
}

export async function uploads(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
): Promise<UploadFigures> {
  const sampler = sampleRss({
    gateway: system.pids.gateway,
    'subgraph-image': system.pids['subgraph-image'],
  });
  let gateway: LoadResult;
  let rss: UploadFigures['rss'] = {};
  try {
    gateway = await runLoad({
      label: 'uploads via gateway',
      url: system.urls.gateway,
      connections: s.uploadConcurrency,
      amount: s.uploadCount,
      timeoutSec: 120,
      judge: { kind: 'graphql' },
      uploads: {
        path: '/graphql',
        count: s.uploadCount,
        fileBytes: s.uploadBytes,
        tokens: users.map((u) => u.accessToken),
      },
    });
  } finally {
    // Stopped even on failure so no timer keeps the process alive.
    rss = sampler.stop();
  }
  const gatewayMBps = (gateway.ok * s.uploadBytes) / 1e6 / gateway.durationSec;
  const rawPg = await rawPostgresInsert(
    system.databaseUrl,
    s.uploadCount,
    s.uploadConcurrency,
    s.uploadBytes,
  );
  return {
    fileBytes: s.uploadBytes,
    concurrency: s.uploadConcurrency,
    gateway,
    gatewayMBps,
    rss,
    rawPg,
    ratio: gatewayMBps / rawPg.MBps,
  };
}

export interface FetchFigures {
  full: LoadResult;
  notModified: LoadResult;
}

export async function signedFetches(
  system: RunningSystem,
  images: SeededImage[],
  s: BenchSettings,
): Promise<FetchFigures> {
  const base = { url: system.urls.gateway, connections: s.readConnections, duration: s.seconds };
  const full = await runLoad({
    ...base,
    label: 'GET signed image (200)',
    judge: { kind: 'status', ok: [200] },
    requests: images.map((image) => ({ method: 'GET', path: image.path, headers: {} })),
  });
  const notModified = await runLoad({
    ...base,
    label: 'GET signed image, If-None-Match (304)',
    judge: { kind: 'status', ok: [304] },
    requests: images.map((image) => ({
      method: 'GET',
      path: image.path,
      headers: { 'if-none-match': image.etag },
    })),
  });
  return { full, notModified };
}
