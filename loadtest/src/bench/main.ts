/**
 * `npm run bench` (and `npm run bench:smoke`): starts the system on an embedded Postgres, seeds
 * users and images, measures the five scenarios of issue 6 side by side in one run, prints a
 * table and writes bench/results/<date>.json plus a chart (<date>.svg, copied to latest.svg).
 *
 * Exit status says whether the harness worked, never whether a figure was good: timing figures
 * are reported, not asserted.
 */
import { execSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadResult } from './load/job';
import { loadGeneratorCpus } from './load/run';
import {
  formatNumber,
  type Panel,
  type Row,
  renderSvg,
  renderTable,
  renderTargets,
  type Target,
} from './report';
import {
  type BenchSettings,
  type FetchFigures,
  type FloodFigures,
  federatedRead,
  type LoginFigures,
  loginThroughput,
  type ReadFigures,
  readUnderLoginFlood,
  signedFetches,
  type UploadFigures,
  uploads,
} from './scenarios';
import { seedImages, seedUsers } from './seed';
import { startSystem } from './system';

const ROOT = path.resolve(__dirname, '../../..');
const MIB = 1024 * 1024;

function settingsFor(
  smoke: boolean,
  seconds?: number,
): BenchSettings & { users: number; imagesPerUser: number } {
  const base = smoke
    ? {
        seconds: 2,
        warmupSeconds: 0,
        readConnections: 8,
        loginConnections: 4,
        floodConnections: 16,
        uploadCount: 2,
        uploadConcurrency: 2,
        users: 8,
        imagesPerUser: 1,
      }
    : {
        seconds: 15,
        warmupSeconds: 3,
        readConnections: 32,
        loginConnections: 4,
        floodConnections: 32,
        uploadCount: 24,
        uploadConcurrency: 4,
        users: 200,
        imagesPerUser: 5,
      };
  return { ...base, seconds: seconds ?? base.seconds, smoke, uploadBytes: 5 * MIB, bcryptCost: 10 };
}

function machine() {
  const cpus = os.cpus();
  let kernel = os.release();
  try {
    kernel = execSync('uname -sr', { encoding: 'utf8' }).trim();
  } catch {
    // uname is informative only
  }
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    kernel,
    /** Other work on the machine skews every figure; recorded so a reader can tell. */
    loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

const ms = (value: number) => `${formatNumber(value)} ms`;
const latency = (r: LoadResult) => `p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}`;
const outcome = (r: LoadResult) =>
  `${r.ok} ok${r.shed ? `, ${r.shed} shed` : ''}${r.failed ? `, ${r.failed} FAILED` : ''}`;
const mib = (bytes: number) => `${formatNumber(bytes / MIB)} MiB`;

export interface Figures {
  login?: LoginFigures;
  read?: ReadFigures;
  flood?: FloodFigures;
  uploads?: UploadFigures;
  fetch?: FetchFigures;
}

export function summarise(f: Figures, s: BenchSettings): { rows: Row[]; targets: Target[]; panels: Panel[] } {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const panels: Panel[] = [];
  if (f.login) {
    const { gateway, bcryptComparesPerSec, bcryptConcurrency, ratio } = f.login;
    rows.push(
      {
        scenario: '1 login',
        measure: 'logins/s through the gateway',
        value: formatNumber(gateway.okPerSec),
        detail: `${latency(gateway)}; ${outcome(gateway)}`,
      },
      {
        scenario: '1 login',
        measure: `bcrypt ceiling, cost ${s.bcryptCost}`,
        value: formatNumber(bcryptComparesPerSec),
        detail: `compares/s, ${bcryptConcurrency} at once, own process`,
      },
      {
        scenario: '1 login',
        measure: 'ratio',
        value: `${formatNumber(ratio * 100)}%`,
        detail: 'target >= 90%',
      },
    );
    targets.push({
      what: 'login throughput >= 90% of the bcrypt ceiling',
      actual: `${formatNumber(ratio * 100)}%`,
      met: ratio >= 0.9,
    });
    panels.push({
      title: '1. Login throughput',
      unit: 'per second',
      bars: [
        { label: 'logins via gateway', value: gateway.okPerSec },
        { label: `bcrypt ceiling (cost ${s.bcryptCost})`, value: bcryptComparesPerSec },
      ],
    });
  }
  if (f.read) {
    for (const t of f.read.targets) {
      rows.push({
        scenario: '2 read',
        measure: t.query === 'direct' ? `${t.name}: me { id name }` : t.name,
        value: `${formatNumber(t.result.okPerSec)}/s`,
        detail: `${latency(t.result)}; x${formatNumber(t.ratioToOurs, 2)} of ours; ${outcome(t.result)}`,
      });
    }
    for (const t of f.read.targets) {
      const cpu = Object.entries(t.cpuMsPerRequest ?? {})
        .map(([name, value]) => `${name.replace('subgraph-', '')} ${formatNumber(value, 2)}`)
        .join(', ');
      rows.push({
        scenario: '2 read',
        measure: `CPU ms/request: ${t.name}`,
        value: formatNumber(
          Object.values(t.cpuMsPerRequest ?? {}).reduce((a, b) => a + b, 0),
          2,
        ),
        detail: cpu,
      });
    }
    const by = (name: string) => f.read?.targets.find((t) => t.name === name)?.result.okPerSec ?? Number.NaN;
    const ours = by('our gateway');
    targets.push(
      {
        what: 'federated read >= 1.5x stock @apollo/gateway',
        actual: `x${formatNumber(ours / by('stock @apollo/gateway'), 2)}`,
        met: ours >= 1.5 * by('stock @apollo/gateway'),
      },
      {
        what: 'federated read ahead of Hive Gateway',
        actual: `x${formatNumber(ours / by('Hive Gateway'), 2)}`,
        met: ours > by('Hive Gateway'),
      },
    );
    panels.push({
      title: '2. Federated read, distinct users',
      unit: 'requests/s',
      bars: f.read.targets.map((t) => ({
        label: t.query === 'direct' ? 'auth subgraph, me{id name}' : t.name,
        value: t.result.okPerSec,
      })),
    });
  }
  if (f.flood) {
    const { quiet, underFlood, flood, rate, p99Ratio } = f.flood;
    rows.push(
      {
        scenario: '3 flood',
        measure: `read at ${rate}/s, no flood`,
        value: ms(quiet.latencyMs.p99),
        detail: `p99; p50 ${ms(quiet.latencyMs.p50)}; ${outcome(quiet)}`,
      },
      {
        scenario: '3 flood',
        measure: `read at ${rate}/s, login flood`,
        value: ms(underFlood.latencyMs.p99),
        detail: `p99; p50 ${ms(underFlood.latencyMs.p50)}; ${outcome(underFlood)}`,
      },
      {
        scenario: '3 flood',
        measure: 'the flood itself',
        value: `${formatNumber(flood.okPerSec)}/s`,
        detail: `logins ok; ${formatNumber(flood.shed / flood.durationSec)}/s shed; ${outcome(flood)}`,
      },
      {
        scenario: '3 flood',
        measure: 'p99 ratio',
        value: `x${formatNumber(p99Ratio, 2)}`,
        detail: 'target <= x3',
      },
    );
    targets.push({
      what: 'read p99 under a login flood <= 3x without',
      actual: `x${formatNumber(p99Ratio, 2)}`,
      met: p99Ratio <= 3,
    });
    panels.push({
      title: `3. Federated read p99 at ${rate}/s`,
      unit: 'ms',
      bars: [
        { label: 'no flood', value: quiet.latencyMs.p99 },
        { label: 'during login flood', value: underFlood.latencyMs.p99 },
      ],
    });
  }
  if (f.uploads) {
    const u = f.uploads;
    const growth = (name: string) => {
      const r = u.rss[name];
      return r ? Math.max(r.peakBytes, 0) - r.beforeBytes : Number.NaN;
    };
    rows.push(
      {
        scenario: '4 upload',
        measure: `${mib(u.fileBytes)} x${u.concurrency} via gateway`,
        value: `${formatNumber(u.gatewayMBps)} MB/s`,
        detail: `${latency(u.gateway)}; ${outcome(u.gateway)}`,
      },
      {
        scenario: '4 upload',
        measure: 'raw pg insert, same bytes',
        value: `${formatNumber(u.rawPg.MBps)} MB/s`,
        detail: `${u.rawPg.inserts} inserts, ${u.concurrency} at once`,
      },
      {
        scenario: '4 upload',
        measure: 'ratio',
        value: `${formatNumber(u.ratio * 100)}%`,
        detail: 'target >= 50%',
      },
    );
    for (const name of Object.keys(u.rss)) {
      const r = u.rss[name];
      if (!r) continue;
      rows.push({
        scenario: '4 upload',
        measure: `${name} RSS`,
        value: `+${mib(growth(name))}`,
        detail: `before ${mib(r.beforeBytes)}, peak ${mib(r.peakBytes)}, VmHWM ${mib(r.hwmBytes)}`,
      });
    }
    targets.push(
      {
        what: 'upload throughput >= 50% of raw pg insert',
        actual: `${formatNumber(u.ratio * 100)}%`,
        met: u.ratio >= 0.5,
      },
      {
        what: 'gateway peak RSS grows < 64 MiB during uploads',
        actual: `+${mib(growth('gateway'))}`,
        met: growth('gateway') < 64 * MIB,
      },
    );
    panels.push(
      {
        title: `4. Uploads, ${mib(u.fileBytes)} each, ${u.concurrency} at once`,
        unit: 'MB/s',
        bars: [
          { label: 'through the gateway', value: u.gatewayMBps },
          { label: 'raw pg insert', value: u.rawPg.MBps },
        ],
      },
      {
        title: '4. RSS growth during uploads',
        unit: 'MiB',
        bars: Object.keys(u.rss).map((name) => ({ label: name, value: growth(name) / MIB })),
      },
    );
  }
  if (f.fetch) {
    rows.push(
      {
        scenario: '5 fetch',
        measure: 'signed image, 200',
        value: `${formatNumber(f.fetch.full.okPerSec)}/s`,
        detail: `${latency(f.fetch.full)}; ${outcome(f.fetch.full)}`,
      },
      {
        scenario: '5 fetch',
        measure: 'signed image, If-None-Match 304',
        value: `${formatNumber(f.fetch.notModified.okPerSec)}/s`,
        detail: `${latency(f.fetch.notModified)}; ${outcome(f.fetch.notModified)}`,
      },
    );
    panels.push({
      title: '5. Signed image fetches via gateway',
      unit: 'requests/s',
      bars: [
        { label: '200 (bytes)', value: f.fetch.full.okPerSec },
        { label: '304 (revalidated)', value: f.fetch.notModified.okPerSec },
      ],
    });
  }
  return { rows, targets, panels };
}

/** A scenario that completed no request at all means the harness or the system is broken. */
export function brokenScenarios(f: Figures): string[] {
  const all: Array<[string, LoadResult | undefined]> = [
    ['login', f.login?.gateway],
    ...((f.read?.targets ?? []).map((t) => [`read ${t.name}`, t.result]) as Array<[string, LoadResult]>),
    ['read, no flood', f.flood?.quiet],
    ['read, during flood', f.flood?.underFlood],
    ['uploads', f.uploads?.gateway],
    ['fetch 200', f.fetch?.full],
    ['fetch 304', f.fetch?.notModified],
  ];
  return all
    .filter(([, r]) => r !== undefined && r.ok === 0)
    .map(([name, r]) => `${name}: no successful request (${r?.firstFailure ?? 'no response'})`);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string', default: '1,2,3,4,5' },
      /** Writes a V8 CPU profile of every service into this folder (read it with profile-summary.ts). */
      profile: { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const s = settingsFor(smoke, values.seconds ? Number(values.seconds) : undefined);
  const only = new Set((values.only ?? '').split(',').map((x) => x.trim()));
  const started = Date.now();
  const log = (m: string) =>
    process.stdout.write(`[bench] ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s ${m}\n`);
  const pinning = loadGeneratorCpus();
  const host = machine();
  log(`${smoke ? 'smoke' : 'full'} run on ${host.cpu}, ${host.cores} cores, Node ${host.node}`);
  log(pinning ? `load generator pinned with taskset -c ${pinning}; services unpinned` : 'no CPU pinning');

  const system = await startSystem({
    log,
    env: { BCRYPT_COST: String(s.bcryptCost) },
    nodeFlags: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : undefined,
  });
  const figures: Figures = {};
  try {
    log(`seeding ${s.users} users with ${s.imagesPerUser} images each`);
    const users = await seedUsers(system.urls.gateway, s.users);
    const images = await seedImages(system.urls.gateway, users, s.imagesPerUser);
    if (only.has('1')) {
      log('1. login throughput vs the bcrypt ceiling');
      figures.login = await loginThroughput(system, users, s);
    }
    if (only.has('2')) {
      log('2. federated read through each gateway');
      figures.read = await federatedRead(system, users, s, log);
    }
    if (only.has('3')) {
      log('3. read latency during a login flood');
      const ours = figures.read?.targets[0]?.result.okPerSec ?? 100;
      figures.flood = await readUnderLoginFlood(system, users, s, ours);
    }
    if (only.has('5')) {
      log('5. signed image fetches');
      figures.fetch = await signedFetches(system, images, s);
    }
    // Uploads last: their large blobs would otherwise sit under the reads being measured.
    if (only.has('4')) {
      log('4. concurrent 5 MiB uploads vs raw pg inserts');
      figures.uploads = await uploads(system, users, s);
    }
  } finally {
    await system.stop();
  }

  const { rows, targets, panels } = summarise(figures, s);
  const date = new Date().toISOString().slice(0, 10);
  const method = {
    loadGenerator:
      'autocannon 9, one process per measurement, keep-alive, 1 request in flight per connection',
    cpuSharing: pinning
      ? `load generator pinned with taskset -c ${pinning}; Postgres, subgraphs and gateways unpinned on all ${host.cores} cores`
      : `no pinning: everything shares all ${host.cores} cores`,
    services:
      'separate processes as npm start runs them (tsx, NODE_ENV=development, LOG_LEVEL=warn), embedded Postgres',
    settings: s,
  };
  const loadAverageAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  const record = {
    date,
    loadAverageAtEnd,
    mode: smoke ? 'smoke' : 'full',
    machine: host,
    method,
    rows,
    targets,
    figures,
    elapsedSec: (Date.now() - started) / 1000,
  };
  const outDir = values.out
    ? path.resolve(values.out)
    : smoke
      ? mkdtempSync(path.join(os.tmpdir(), 'imagehub-bench-smoke-'))
      : path.join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const jsonPath = path.join(outDir, `${date}${smoke ? '-smoke' : ''}.json`);
  const svgPath = path.join(outDir, `${date}${smoke ? '-smoke' : ''}.svg`);
  writeFileSync(jsonPath, `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(
    svgPath,
    renderSvg(
      `imagehub bench, ${date}${smoke ? ' (smoke)' : ''}`,
      [
        `${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node}; load average at start ${host.loadAverageAtStart[0]}`,
        method.cpuSharing,
      ],
      panels,
    ),
  );
  if (!smoke && !values.out) copyFileSync(svgPath, path.join(outDir, 'latest.svg'));

  process.stdout.write(`\n${renderTable(rows)}\n\nTargets (issue 6):\n${renderTargets(targets)}\n\n`);
  log(
    `wrote ${path.relative(process.cwd(), jsonPath)} and ${path.relative(process.cwd(), svgPath)} in ${formatNumber(record.elapsedSec)} s`,
  );
  const broken = brokenScenarios(figures);
  for (const problem of broken) log(`BROKEN: ${problem}`);
  return broken.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `[bench] harness failed: ${error instanceof Error ? error.stack : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
