/**
 * `npm run bench` (and `npm run bench:smoke`): starts the system on an embedded Postgres in
 * production mode (compiled, as the images run it; `--dev` for development mode), seeds users and
 * images, measures the scenarios of issues 6, 14, 15 and 17 side by side in one run, prints a
 * table with the targets met or not, and writes bench/results/<date>.json plus a chart
 * (<date>.svg, copied to latest.svg; a later run the same day is <date>-2, -3, ...). `--only` runs
 * some scenarios alone.
 *
 * Exit status says whether the harness worked, never whether a figure was good: timing figures
 * are reported, not asserted.
 */
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { prepareBaseline } from './baseline';
import { loadGeneratorCpus } from './load/run';
import { formatNumber, renderSvg, renderTable, renderTargets } from './report';
import { parseOrder } from './rounds';
import { watchMemory } from './rss';
import {
  type BenchSettings,
  federatedRead,
  loginThroughput,
  piSized,
  readAgainstBaseline,
  readUnderLoginFlood,
  signedFetches,
  systemProcesses,
  uploads,
} from './scenarios';
import { seedImages, seedUsers } from './seed';
import { brokenScenarios, type Figures, summarise } from './summary';
import { buildServices, describeMode, type RunMode, servicesCompiled, startSystem } from './system';

export { brokenScenarios, type Figures, summarise };

const ROOT = path.resolve(__dirname, '../../..');
const MIB = 1024 * 1024;

function settingsFor(
  smoke: boolean,
  seconds?: number,
): BenchSettings & { users: number; imagesPerUser: number } {
  // The smoke run proves that every scenario's code works, not what it measures: 1 s measurements
  // and 1 MiB uploads (CI's budget for it is a minute; the full run's 5 MiB is the figure that counts).
  const base = smoke
    ? {
        seconds: 1,
        warmupSeconds: 0,
        readConnections: 8,
        loginConnections: 4,
        floodConnections: 4,
        uploadCount: 2,
        uploadConcurrency: 2,
        users: 8,
        imagesPerUser: 1,
        uploadBytes: 1 * MIB,
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
        uploadBytes: 5 * MIB,
      };
  return { ...base, seconds: seconds ?? base.seconds, smoke, bcryptCost: 10 };
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

/** Scenario names for `--only` (numbers are the table's and the older CLI's). */
export const SCENARIOS = ['login', 'read', 'flood', 'fetch', 'uploads', 'pi', 'baseline'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
const NUMBERED: Record<string, ScenarioName> = {
  '1': 'login',
  '2': 'read',
  '3': 'flood',
  '4': 'uploads',
  '5': 'fetch',
  '6': 'pi',
  '7': 'baseline',
};

/** `--only read,login` or `--only 2,1`; throws on a name it doesn't know. */
export function parseOnly(value: string | undefined, baseline: boolean): Set<ScenarioName> {
  if (!value) return new Set(SCENARIOS.filter((name) => name !== 'baseline' || baseline));
  const chosen = new Set<ScenarioName>();
  for (const raw of value
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const name = NUMBERED[raw] ?? (SCENARIOS as readonly string[]).find((s) => s === raw);
    if (!name) throw new Error(`--only: unknown scenario "${raw}" (known: ${SCENARIOS.join(', ')}, or 1-7)`);
    chosen.add(name as ScenarioName);
  }
  if (chosen.has('baseline') && !baseline) throw new Error('--only baseline needs --baseline REF');
  return chosen;
}

/** Three pairs: one disagreeing pair shows as spread instead of moving the median. */
const DEFAULT_BASELINE_ORDER = 'ABABAB';
/**
 * Seconds a freshly started gateway and subgraphs need before their rate settles (JIT, caches,
 * connection pools), measured with the load generator's okEachSecond: see loadtest/README.md.
 */
const DEFAULT_BASELINE_WARMUP = 15;

const USAGE = `npm run bench [-- options]
  --only NAMES     scenarios to run, comma-separated: ${SCENARIOS.join(', ')} (or 1-7); default all
                   (baseline only with --baseline)
  --baseline REF   also measure the federated read of the services at git REF, in the same run
  --baseline-order ROUNDS   A (this checkout) and B (REF) rounds, each on freshly restarted
                   services (default ${DEFAULT_BASELINE_ORDER}; smoke AB)
  --baseline-warmup N       seconds of warm-up after each restart (default ${DEFAULT_BASELINE_WARMUP}; smoke 1)
  --dev            services as npm start runs them in development (tsx, NODE_ENV=development)
  --no-build       production mode from the TypeScript sources (tsx) instead of compiled dist/
  --seconds N      measured seconds per run (default 15; smoke 1)
  --out DIR        where the results go (default bench/results; smoke: a temporary folder)
  --profile DIR    a V8 CPU profile of every service into DIR (read with profile-summary.ts)
  --smoke          the CI run: few users, short runs, production mode from sources`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      dev: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      out: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string' },
      baseline: { type: 'string' },
      'baseline-order': { type: 'string' },
      'baseline-warmup': { type: 'string' },
      /** Writes a V8 CPU profile of every service into this folder (read it with profile-summary.ts). */
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const smoke = values.smoke ?? false;
  const s = settingsFor(smoke, values.seconds ? Number(values.seconds) : undefined);
  const only = parseOnly(values.only, values.baseline !== undefined);
  // A typo in the order fails here, not after minutes of other scenarios.
  if (values['baseline-order']) parseOrder(values['baseline-order']);
  // Production as the images run it (compiled), unless asked otherwise; the smoke run skips the
  // compile (CI compiles last, and the smoke run checks the harness, not the figures).
  const mode: RunMode = values.dev
    ? { nodeEnv: 'development', compiled: false }
    : { nodeEnv: 'production', compiled: !smoke && !values['no-build'] };
  const started = Date.now();
  const log = (m: string) =>
    process.stdout.write(`[bench] ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s ${m}\n`);
  const pinning = loadGeneratorCpus();
  const host = machine();
  log(`${smoke ? 'smoke' : 'full'} run on ${host.cpu}, ${host.cores} cores, Node ${host.node}`);
  log(`services: ${describeMode(mode)}`);
  log(pinning ? `load generator pinned with taskset -c ${pinning}; services unpinned` : 'no CPU pinning');
  if (only.has('pi') && (!pinning || host.cores < 2)) {
    log('pi: needs taskset and two cores (one for the system, one for the load generator); left out');
    only.delete('pi');
  }
  if (mode.compiled && servicesCompiled())
    log('compiled output (dist/) is newer than every source: not rebuilt');
  else if (mode.compiled) {
    log('compiling the services (npm run build for their workspaces)');
    buildServices();
  }
  const baseline =
    values.baseline && only.has('baseline') ? prepareBaseline(values.baseline, mode.compiled) : undefined;
  if (baseline)
    log(`baseline ${baseline.ref} (${baseline.commit.slice(0, 12)}) exported to ${baseline.root}`);

  const system = await startSystem({
    log,
    mode,
    env: { BCRYPT_COST: String(s.bcryptCost) },
    nodeFlags: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : undefined,
  });
  const figures: Figures = {};
  // Idle: just started, nothing asked yet. Stopped before the baseline restarts the services.
  const memory = watchMemory(systemProcesses(system));
  try {
    log(`seeding ${s.users} users with ${s.imagesPerUser} images each`);
    const users = await seedUsers(system.urls.gateway, s.users);
    const images = await seedImages(system.urls.gateway, users, s.imagesPerUser);
    if (only.has('login')) {
      log('1. login throughput vs the bcrypt ceiling');
      figures.login = await loginThroughput(system, users, s);
    }
    if (only.has('read')) {
      log('2. federated read through each gateway');
      figures.read = await federatedRead(system, users, s, log);
    }
    const ourReadRps = figures.read?.targets[0]?.result.okPerSec ?? 100;
    if (only.has('flood')) {
      log('3. read latency during a login flood');
      figures.flood = await readUnderLoginFlood(system, users, s, ourReadRps);
    }
    if (only.has('fetch')) {
      log('5. signed image fetches');
      figures.fetch = await signedFetches(system, images, s);
    }
    // Uploads late: their large blobs would otherwise sit under the reads being measured.
    if (only.has('uploads')) {
      log(`4. concurrent ${s.uploadBytes / MIB} MiB uploads vs raw pg inserts, and reads while uploads run`);
      figures.uploads = await uploads(system, users, s, ourReadRps);
    }
    // Pinned to one core while it runs (unpinned after): last but the baseline.
    if (only.has('pi') && pinning) {
      log('6. one core for the whole system (taskset -c 0), load generator on the other');
      figures.pi = await piSized(system, users, s, pinning);
    }
    figures.memory = memory.stop();
    if (baseline) {
      log(`7. federated read: this checkout vs ${baseline.ref}`);
      figures.baseline = await readAgainstBaseline(
        system,
        users,
        s,
        {
          ref: baseline.ref,
          root: baseline.root,
          order: values['baseline-order'] ?? (smoke ? 'AB' : DEFAULT_BASELINE_ORDER),
          warmupSeconds: Number(values['baseline-warmup'] ?? (smoke ? 1 : DEFAULT_BASELINE_WARMUP)),
        },
        log,
      );
    }
  } finally {
    memory.stop();
    await system.stop();
    baseline?.remove();
  }

  const { rows, targets, panels } = summarise(figures, s);
  const date = new Date().toISOString().slice(0, 10);
  const method = {
    loadGenerator:
      'autocannon 9, one process per measurement, keep-alive, 1 request in flight per connection',
    cpuSharing: pinning
      ? `load generator pinned with taskset -c ${pinning}; Postgres, subgraphs and gateways unpinned on all ${host.cores} cores (scenario 6: all of them on CPU 0)`
      : `no pinning: everything shares all ${host.cores} cores`,
    services: `${describeMode(mode)}; separate processes, LOG_LEVEL=warn, embedded Postgres; peer gateways: their published JavaScript, NODE_ENV=production`,
    baseline: baseline ? { ref: baseline.ref, commit: baseline.commit } : undefined,
    settings: s,
  };
  const loadAverageAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  const record = {
    date,
    loadAverageAtEnd,
    mode: smoke ? 'smoke' : 'full',
    services: mode,
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
  const suffix = `${smoke ? '-smoke' : ''}${mode.nodeEnv === 'development' ? '-dev' : ''}`;
  const stem = resultStem(outDir, `${date}${suffix}`);
  const jsonPath = path.join(outDir, `${stem}.json`);
  const svgPath = path.join(outDir, `${stem}.svg`);
  writeFileSync(jsonPath, `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(
    svgPath,
    renderSvg(
      `imagehub bench, ${date}${smoke ? ' (smoke)' : ''}, ${mode.nodeEnv}`,
      [
        `${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node}; load average at start ${host.loadAverageAtStart[0]}`,
        describeMode(mode),
        method.cpuSharing,
      ],
      panels,
    ),
  );
  if (!smoke && !values.out && mode.nodeEnv === 'production')
    copyFileSync(svgPath, path.join(outDir, 'latest.svg'));

  process.stdout.write(
    `\nServices: ${describeMode(mode)}\n\n${renderTable(rows)}\n\nTargets (issues 6, 14, 15, 17):\n${renderTargets(targets)}\n\n`,
  );
  log(
    `wrote ${path.relative(process.cwd(), jsonPath)} and ${path.relative(process.cwd(), svgPath)} in ${formatNumber(record.elapsedSec)} s`,
  );
  const broken = brokenScenarios(figures);
  for (const problem of broken) log(`BROKEN: ${problem}`);
  return broken.length > 0 ? 1 : 0;
}

/**
 * `<date>` for a day's first run, `<date>-2`, `-3`, ... for later ones: every run keeps its own
 * results file and chart (a second run the same day wrote over the first before).
 */
export function resultStem(dir: string, base: string): string {
  const taken = (stem: string) =>
    existsSync(path.join(dir, `${stem}.json`)) || existsSync(path.join(dir, `${stem}.svg`));
  let stem = base;
  for (let run = 2; taken(stem); run++) stem = `${base}-${run}`;
  return stem;
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
