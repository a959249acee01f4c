import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { meterCpu } from './cpu';
import type { LoadJob, LoadResult, RequestSpec } from './load/job';
import { runLoad } from './load/run';
import { type Comparison, compareRounds, parseOrder } from './rounds';
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

export interface BcryptCeiling {
  comparesPerSec: number;
  /** CPU of one compare, all threads (the ceiling's process does nothing else). */
  cpuMsPerCompare: number;
  concurrency: number;
}

/**
 * The machine's bcrypt ceiling, measured in its own process: by default on all cores, as many
 * compares at once as there are cores; `cpus` pins it (`taskset -c`) with one compare per CPU given.
 */
export function bcryptCeiling(
  cost: number,
  seconds: number,
  cpus?: { list: string; count: number },
): Promise<BcryptCeiling> {
  return new Promise((resolve, reject) => {
    const args = [
      '--import',
      'tsx',
      path.join(__dirname, 'bcrypt-ceiling.ts'),
      String(cost),
      String(seconds),
    ];
    const child = cpus
      ? spawn('taskset', ['-c', cpus.list, process.execPath, ...args, String(cpus.count)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
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
  /** The mean of the two ceilings, right before and right after the logins (`bcryptComparesPerSecEach`). */
  bcryptComparesPerSec: number;
  bcryptComparesPerSecEach: [before: number, after: number];
  bcryptConcurrency: number;
  ratio: number;
  /** CPU per successful login, per process (gateway, subgraphs, Postgres), from /proc. */
  cpuMsPerLogin: Record<string, number>;
  /** CPU of one bcrypt compare at the same cost, measured alone. */
  bcryptCpuMsPerCompare: number;
  /** Everything a login costs besides its compare: the sum above minus one compare. */
  cpuMsPerLoginOutsideBcrypt: number;
}

/** The system's processes whose CPU a request may cost: the gateway, the subgraphs, Postgres. */
export function systemProcesses(system: RunningSystem): Record<string, { pid: number; tree?: boolean }> {
  return {
    gateway: { pid: system.pids.gateway },
    'subgraph-auth': { pid: system.pids['subgraph-auth'] },
    'subgraph-image': { pid: system.pids['subgraph-image'] },
    postgres: { pid: system.postgresPid, tree: true },
    ...Object.fromEntries(system.workerPids().map((pid, i) => [`worker-${i + 1}`, { pid }])),
  };
}

const perRequest = (cpuMs: Record<string, number>, ok: number) =>
  Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, ok ? ms / ok : Number.NaN]));

export const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

export async function loginThroughput(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
  pinnedTo?: { list: string; count: number },
): Promise<LoginFigures> {
  const job: LoadJob = {
    label: 'login via gateway',
    url: system.urls.gateway,
    connections: s.loginConnections,
    judge: { kind: 'graphql' },
    requests: loginRequests(users),
  };
  // This machine's speed drifts within a run (a shared host: one ceiling moved 15 % between two
  // runs a minute apart), so the reference is the mean of a ceiling right before and one right after.
  const ceilingSeconds = Math.max(1, Math.min(s.seconds, 8));
  const before = await bcryptCeiling(s.bcryptCost, ceilingSeconds, pinnedTo);
  // As for the reads: the JIT and the keep-alive pools warm up before the clock starts.
  if (s.warmupSeconds > 0) await runLoad({ ...job, label: 'login (warm-up)', duration: s.warmupSeconds });
  const meter = meterCpu(systemProcesses(system));
  const gateway = await runLoad({ ...job, duration: s.seconds });
  const cpuMsPerLogin = perRequest(meter.stop(), gateway.ok);
  const after = await bcryptCeiling(s.bcryptCost, ceilingSeconds, pinnedTo);
  const comparesPerSec = (before.comparesPerSec + after.comparesPerSec) / 2;
  const cpuMsPerCompare = (before.cpuMsPerCompare + after.cpuMsPerCompare) / 2;
  return {
    gateway,
    bcryptComparesPerSec: comparesPerSec,
    bcryptComparesPerSecEach: [before.comparesPerSec, after.comparesPerSec],
    bcryptConcurrency: before.concurrency,
    ratio: gateway.okPerSec / comparesPerSec,
    cpuMsPerLogin,
    bcryptCpuMsPerCompare: cpuMsPerCompare,
    cpuMsPerLoginOutsideBcrypt: sum(cpuMsPerLogin) - cpuMsPerCompare,
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

export async function measureRead(
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
  return { result, cpuMsPerRequest: perRequest(meter.stop(), result.ok) };
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
  const peers: Array<[PeerName, string]> = [
    ['apollo-stock', 'stock @apollo/gateway'],
    ['hive', 'Hive Gateway'],
  ];
  // Both peers start at once, before anything is measured (each spends seconds loading its
  // modules), and wait idle for their turn: an idle peer costs no CPU (its supergraph is a string,
  // nothing polls), and each stops once measured.
  const starting = await Promise.allSettled(peers.map(([peer]) => system.startPeer(peer)));
  const started = starting.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
  const failed = starting.find((p) => p.status === 'rejected');
  if (failed) {
    for (const running of started) await running.stop();
    throw failed.reason;
  }
  log('  our gateway');
  results.push({
    name: 'our gateway',
    query: 'federated',
    ...(await measureRead('read: our gateway', system.urls.gateway, FEDERATED_READ, users, s, {
      gateway: { pid: system.pids.gateway },
      ...subgraphs,
    })),
  });
  for (const [i, [, name]] of peers.entries()) {
    log(`  ${name}`);
    const running = started[i] as (typeof started)[number];
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
  /** RSS of the gateway and the image subgraph's API process during the measured uploads. */
  rss: Record<string, { beforeBytes: number; peakBytes: number; hwmBytes: number }>;
  /** CPU per successful upload, per process. */
  cpuMsPerUpload: Record<string, number>;
  rawPg: { MBps: number; inserts: number; seconds: number };
  ratio: number;
  /** The federated read at a fixed rate, alone and then while uploads run (the same rate). */
  readRate: number;
  readAlone: LoadResult;
  readDuringUploads: LoadResult;
  /** The uploads that ran under those reads (files repeat after `uploadCount`: same work, deduplicated blobs). */
  uploadsDuringReads: LoadResult;
  readP99Ratio: number;
  /**
   * Where the system has image workers (issue 14): the same batch with one worker process and
   * with two; processing throughput in uploads/s.
   */
  workers?: { one: LoadResult; two: LoadResult; ratio: number };
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

function uploadJob(system: RunningSystem, users: SeededUser[], s: BenchSettings): LoadJob {
  return {
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
  };
}

/** `uploadCount` uploads, `uploadConcurrency` at a time: successful uploads per second and MB/s. */
export async function uploadBatch(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
): Promise<LoadResult> {
  return runLoad(uploadJob(system, users, s));
}

function fixedRateRead(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
  rate: number,
  label: string,
) {
  return runLoad({
    label,
    url: system.urls.gateway,
    connections: s.readConnections,
    overallRate: rate,
    duration: s.seconds,
    judge: { kind: 'graphql' },
    requests: graphqlRequests(users, FEDERATED_READ),
  });
}

export async function uploads(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
  ourReadRps: number,
): Promise<UploadFigures> {
  const processes = systemProcesses(system);
  delete processes['subgraph-auth'];
  const sampler = sampleRss({
    gateway: system.pids.gateway,
    'subgraph-image': system.pids['subgraph-image'],
    ...Object.fromEntries(system.workerPids().map((pid, i) => [`worker-${i + 1}`, pid])),
  });
  const meter = meterCpu(processes);
  let gateway: LoadResult;
  let rss: UploadFigures['rss'] = {};
  let cpuMs: Record<string, number>;
  try {
    gateway = await uploadBatch(system, users, s);
  } finally {
    // Stopped even on failure so no timer keeps the process alive.
    rss = sampler.stop();
    cpuMs = meter.stop();
  }
  const gatewayMBps = (gateway.ok * s.uploadBytes) / 1e6 / gateway.durationSec;
  let workers: UploadFigures['workers'];
  if (system.workerPids().length === 1) {
    await system.startWorker();
    try {
      const two = await uploadBatch(system, users, s);
      const rate = (r: LoadResult) => r.ok / r.durationSec;
      workers = { one: gateway, two, ratio: rate(two) / rate(gateway) };
    } finally {
      await system.stopWorker();
    }
  }
  const rawPg = await rawPostgresInsert(
    system.databaseUrl,
    s.uploadCount,
    s.uploadConcurrency,
    s.uploadBytes,
  );
  // Reads at a fixed rate well below saturation (as in the flood scenario), alone, then while
  // uploads keep the image path busy for the whole measured time.
  const readRate = Math.max(20, Math.round(ourReadRps * 0.4));
  const readAlone = await fixedRateRead(system, users, s, readRate, 'read, no uploads');
  const uploading = runLoad({
    ...uploadJob(system, users, s),
    label: 'uploads under reads',
    amount: undefined,
    duration: s.seconds + 2,
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const readDuringUploads = await fixedRateRead(system, users, s, readRate, 'read, during uploads');
  const uploadsDuringReads = await uploading;
  return {
    fileBytes: s.uploadBytes,
    concurrency: s.uploadConcurrency,
    gateway,
    gatewayMBps,
    rss,
    cpuMsPerUpload: perRequest(cpuMs, gateway.ok),
    rawPg,
    ratio: gatewayMBps / rawPg.MBps,
    readRate,
    readAlone,
    readDuringUploads,
    uploadsDuringReads,
    readP99Ratio: readDuringUploads.latencyMs.p99 / Math.max(readAlone.latencyMs.p99, 0.001),
    workers,
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

export interface PiFigures {
  /** CPUs the whole system (Postgres, services) and the load generator were pinned to. */
  systemCpus: string;
  loadGeneratorCpus: string;
  read: LoadResult;
  cpuMsPerRead: Record<string, number>;
  /** Left out of the smoke run, which checks the pinning; scenarios 1 and 4 run the same code. */
  login?: LoginFigures;
  uploads?: LoadResult;
  uploadsPerSec?: number;
}

/**
 * The Raspberry Pi-sized budget: the whole system pinned to one core (`taskset -c 0`, every
 * thread of Postgres and of each service) while the load generator runs on another, then the
 * federated read, logins (with the one-core bcrypt ceiling beside them) and uploads, one after
 * the other; then everything is unpinned again.
 */
export async function piSized(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
  loadGeneratorCpus: string,
): Promise<PiFigures> {
  const systemCpus = '0';
  system.pin(systemCpus);
  try {
    const read = await measureRead(
      'pi: read',
      system.urls.gateway,
      FEDERATED_READ,
      users,
      s,
      systemProcesses(system),
    );
    const figures: PiFigures = {
      systemCpus,
      loadGeneratorCpus,
      read: read.result,
      cpuMsPerRead: read.cpuMsPerRequest,
    };
    if (s.smoke) return figures;
    figures.login = await loginThroughput(system, users, s, { list: systemCpus, count: 1 });
    figures.uploads = await uploadBatch(system, users, s);
    figures.uploadsPerSec = figures.uploads.ok / figures.uploads.durationSec;
    return figures;
  } finally {
    // Back on every core: whatever runs next (scenario 7) measures the system as deployed.
    system.unpin();
  }
}

export interface BaselineRound {
  /** A: this checkout; B: the baseline. */
  side: 'A' | 'B';
  result: LoadResult;
  cpuMsPerRequest: Record<string, number>;
  /** Reads in each second of the warm-up of the freshly started services, before the clock started. */
  warmupOkEachSecond: number[];
  /** The machine's 1-minute load average at the end of the round: other work shows here. */
  loadAverage: number;
}

export interface BaselineFigures {
  /** The git ref whose services were measured against this checkout's. */
  ref: string;
  /** The rounds' order, e.g. "ABABAB": every round restarts the services it measures. */
  order: string;
  warmupSeconds: number;
  /** The CPUs Postgres (the postmaster, whose affinity new backends inherit) could use during the rounds. */
  postgresCpus: string;
  rounds: BaselineRound[];
  /** The pairs' slowdowns of this checkout against the baseline, their median and spread. */
  comparison: Comparison;
}

/**
 * The federated read of this checkout's services (A) against another commit's (B), in one run, on
 * the same database and users, in alternating rounds (`order`, e.g. ABABAB). Every round starts
 * its services afresh (so neither side keeps a JIT warmed by earlier scenarios), warms them up for
 * `warmupSeconds` (a fresh process needs that long to settle) and then measures; the i-th A and
 * the i-th B form a pair, and the verdict uses the pairs' median and spread.
 */
export async function readAgainstBaseline(
  system: RunningSystem,
  users: SeededUser[],
  s: BenchSettings,
  baseline: { ref: string; root: string; order: string; warmupSeconds: number },
  log: (m: string) => void,
): Promise<BaselineFigures> {
  const order = parseOrder(baseline.order);
  // Scenario 6 may have pinned Postgres to one core; its new backends would inherit that.
  system.unpin();
  const postgresCpus = system.postgresCpus();
  log(
    `  Postgres may use CPUs ${postgresCpus}; order ${order.join('')}, ${baseline.warmupSeconds} s warm-up each`,
  );
  const rounds: BaselineRound[] = [];
  try {
    for (const [i, side] of order.entries()) {
      const name = side === 'A' ? 'this checkout' : baseline.ref;
      log(`  round ${i + 1}/${order.length}: ${name} (restarted)`);
      await system.restartServices(side === 'A' ? {} : { root: baseline.root });
      const job: LoadJob = {
        label: `read: ${name}, round ${i + 1}`,
        url: system.urls.gateway,
        connections: s.readConnections,
        judge: { kind: 'graphql' },
        requests: graphqlRequests(users, FEDERATED_READ),
      };
      const warmup =
        baseline.warmupSeconds > 0
          ? await runLoad({ ...job, label: `${job.label} (warm-up)`, duration: baseline.warmupSeconds })
          : undefined;
      // The processes a read passes through, as in scenario 2: not the image workers, whose idle
      // polling would be charged to the reads, the more so the fewer reads a round completes.
      const processes = systemProcesses(system);
      for (const name of Object.keys(processes)) if (name.startsWith('worker-')) delete processes[name];
      const meter = meterCpu(processes);
      const result = await runLoad({ ...job, duration: s.seconds });
      rounds.push({
        side,
        result,
        cpuMsPerRequest: perRequest(meter.stop(), result.ok),
        warmupOkEachSecond: warmup?.okEachSecond ?? [],
        loadAverage: Number((loadavg()[0] ?? Number.NaN).toFixed(2)),
      });
    }
  } finally {
    // The scenarios after this one, if any, and the stop expect this checkout's services.
    if (order.at(-1) !== 'A' || rounds.length < order.length) await system.restartServices();
  }
  return {
    ref: baseline.ref,
    order: order.join(''),
    warmupSeconds: baseline.warmupSeconds,
    postgresCpus,
    rounds,
    comparison: compareRounds(
      rounds.map((r) => ({ side: r.side, okPerSec: r.result.okPerSec, cpuMs: sum(r.cpuMsPerRequest) })),
    ),
  };
}
