/**
 * `npm run loadtest -- [options] [-- extra locust options]`: runs the Locust scenarios headless
 * against a running system (`npm start`) and writes Locust's CSV and HTML reports into
 * loadtest/reports/. Exits non-zero when Locust saw any failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const LOADTEST_DIR = path.resolve(__dirname, '../..');
const LOCUSTFILE = path.join(LOADTEST_DIR, 'locust/locustfile.py');
export const REPORTS_DIR = path.join(LOADTEST_DIR, 'reports');

export interface Scenario {
  name: 'journey' | 'login';
  userClass: 'JourneyUser' | 'LoginOnlyUser';
  users: number;
  spawnRate: number;
}

/** The login scenario's defaults are the product owner's original measurement. */
export const SCENARIOS: Record<Scenario['name'], Scenario> = {
  journey: { name: 'journey', userClass: 'JourneyUser', users: 20, spawnRate: 5 },
  login: { name: 'login', userClass: 'LoginOnlyUser', users: 100, spawnRate: 10 },
};

const USAGE = `Usage: npm run loadtest -- [--scenario journey|login|both] [--host URL] [--users N]
                        [--spawn-rate N] [--run-time 1m] [-- any other locust option]
Defaults: both scenarios one after the other against http://localhost:4000, journey with 20 users
(spawn 5/s), login with 100 users (spawn 10/s, the original measurement), 1 minute each.
Reports: loadtest/reports/<scenario>-<time>_stats.csv, ..._failures.csv, ....html`;

export interface LocustRun {
  scenario: Scenario;
  args: string[];
  reportPrefix: string;
}

/** Builds the locust command lines; exported so a test can check them without running Locust. */
export function planRuns(argv: string[], now = new Date()): LocustRun[] {
  const separator = argv.indexOf('--');
  const own = separator === -1 ? argv : argv.slice(0, separator);
  const passThrough = separator === -1 ? [] : argv.slice(separator + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      scenario: { type: 'string', default: 'both' },
      host: { type: 'string', default: 'http://localhost:4000' },
      users: { type: 'string' },
      'spawn-rate': { type: 'string' },
      'run-time': { type: 'string', default: '1m' },
    },
    strict: true,
  });
  const chosen = values.scenario === 'both' ? ['journey', 'login'] : [values.scenario];
  const stamp = now.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return chosen.map((name) => {
    const scenario = SCENARIOS[name as Scenario['name']];
    if (!scenario) throw new Error(`unknown scenario "${name}" (journey, login or both)`);
    const reportPrefix = path.join(REPORTS_DIR, `${scenario.name}-${stamp}`);
    const args = [
      '-f',
      LOCUSTFILE,
      '--headless',
      '--host',
      values.host,
      '--users',
      values.users ?? String(scenario.users),
      '--spawn-rate',
      values['spawn-rate'] ?? String(scenario.spawnRate),
      '--run-time',
      values['run-time'],
      '--csv',
      reportPrefix,
      '--html',
      `${reportPrefix}.html`,
      '--only-summary',
      ...passThrough,
      scenario.userClass,
    ];
    return { scenario, args, reportPrefix };
  });
}

function locustAvailable(): boolean {
  return spawnSync('locust', ['--help'], { stdio: 'ignore' }).status === 0;
}

async function reachable(host: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/healthz', host), { signal: AbortSignal.timeout(3_000) });
    return response.ok;
  } catch {
    return false;
  }
}

function run(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('locust', args, { stdio: 'inherit' });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const runs = planRuns(argv);
  if (!locustAvailable()) {
    console.error(
      'locust is not installed: `sudo apt-get install -y python3-locust` (see loadtest/README.md)',
    );
    return 2;
  }
  const host = runs[0]?.args[runs[0].args.indexOf('--host') + 1] ?? '';
  if (!(await reachable(host))) {
    console.error(`${host}/healthz does not answer: start the system first (\`npm start\`).`);
    return 2;
  }
  mkdirSync(REPORTS_DIR, { recursive: true });
  let worst = 0;
  for (const { scenario, args, reportPrefix } of runs) {
    console.log(`\n== ${scenario.name}: locust ${args.join(' ')}`);
    const code = await run(args);
    console.log(
      `== ${scenario.name}: exit ${code}; report ${path.relative(process.cwd(), reportPrefix)}.html`,
    );
    worst = Math.max(worst, code);
  }
  return worst;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      console.error(USAGE);
      process.exitCode = 2;
    },
  );
}
