/**
 * `npm run soak`: mixed load through the gateway for SOAK_SECONDS (default ten minutes) against the
 * whole system as separate processes, sampling every SOAK_SAMPLE_SECONDS each process's RSS (from
 * /proc), heap, event-loop delay p99 and active handles (from its /metrics), and the error rate and
 * latency percentiles of the traffic. Writes test/soak/results/latest.{json,svg,md} and judges growth:
 * the last window's average against the second window's (windows of a minute, or a fifth of a short run).
 *
 * Not part of CI: it takes minutes and measures this machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { percentile, type Sample, Workload } from '../support/load';
import { SERVICES, type ServiceName, System } from '../support/system';
import { type Panel, renderChart } from './chart';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 8);
/** Last window over second window above this ratio counts as growth. */
const MAX_GROWTH = Number(process.env.SOAK_MAX_GROWTH ?? 1.5);
const RESULTS = path.join(__dirname, 'results');

interface ProcessSample {
  rssMb: number;
  heapUsedMb?: number;
  eventLoopP99Ms?: number;
  activeHandles?: number;
}

interface Interval {
  /** Seconds since the load started (end of the interval). */
  t: number;
  requests: number;
  errors: number;
  errorRate: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errorCodes: Record<string, number>;
  processes: Record<ServiceName, ProcessSample>;
}

function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

async function processSample(sys: System, service: ServiceName): Promise<ProcessSample> {
  const sample: ProcessSample = { rssMb: rssMb(sys.pid(service)) };
  try {
    const text = await (await fetch(sys.metricsUrl(service), { signal: AbortSignal.timeout(5_000) })).text();
    const value = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
    };
    const heap = value('nodejs_heap_size_used_bytes');
    const lag = value('nodejs_eventloop_lag_p99_seconds');
    sample.heapUsedMb = heap === undefined ? undefined : heap / 1024 / 1024;
    sample.eventLoopP99Ms = lag === undefined ? undefined : lag * 1000;
    sample.activeHandles = value('nodejs_active_handles_total');
  } catch {
    // A missed scrape shows as a gap, not as a zero.
  }
  return sample;
}

function summarise(
  samples: Sample[],
  t: number,
  seconds: number,
  processes: Interval['processes'],
): Interval {
  const latencies = samples.map((s) => s.ms);
  const errors = samples.filter((s) => !s.ok);
  const errorCodes: Record<string, number> = {};
  for (const e of errors) errorCodes[e.code ?? 'UNKNOWN'] = (errorCodes[e.code ?? 'UNKNOWN'] ?? 0) + 1;
  return {
    t,
    requests: samples.length,
    errors: errors.length,
    errorRate: samples.length ? errors.length / samples.length : 0,
    rps: samples.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    errorCodes,
    processes,
  };
}

const average = (values: (number | undefined)[]) => {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return present.length ? present.reduce((a, b) => a + b, 0) / present.length : undefined;
};

const minimum = (values: (number | undefined)[]) => {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return present.length ? Math.min(...present) : undefined;
};

const round = (value: number | undefined, digits = 2) =>
  value === undefined ? undefined : Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  process.stdout.write(
    `soak: ${SECONDS} s, ${CONCURRENCY} concurrent clients, sampling every ${SAMPLE_SECONDS} s\n`,
  );
  const loadAverageAtStart = loadavg().map((l) => round(l));
  const sys = await System.start({ database: 'embedded', nodeEnv: 'production', logLevel: 'warn' });
  const stopAll = async () => {
    await sys.stop();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const users = [];
    for (let i = 0; i < 10; i++) users.push(await sys.register());
    const load = new Workload(sys, users, {
      concurrency: CONCURRENCY,
      timeoutMs: 10_000,
      weights: { me: 5, images: 3, fetchImage: 2, login: 1, upload: 1 },
    });
    await load.start();
    const intervals: Interval[] = [];
    let taken = 0;
    const started = Date.now();
    while (Date.now() - started < SECONDS * 1000) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_SECONDS * 1000));
      const now = load.elapsed();
      const fresh = load.samples.slice(taken);
      taken += fresh.length;
      const processes = Object.fromEntries(
        await Promise.all(SERVICES.map(async (name) => [name, await processSample(sys, name)] as const)),
      ) as Interval['processes'];
      const interval = summarise(fresh, Math.round(now / 1000), SAMPLE_SECONDS, processes);
      intervals.push(interval);
      process.stdout.write(
        `t=${interval.t}s rps=${interval.rps.toFixed(0)} p99=${interval.p99}ms errors=${interval.errors} rss=${SERVICES.map((n) => processes[n].rssMb.toFixed(0)).join('/')}MB\n`,
      );
    }
    const all = await load.stop();
    const counts = await sys.counts();

    // Growth: the last window against the second (the first is warm-up: JIT, pools, caches).
    const windowSec = Math.min(60, SECONDS / 5);
    const inWindow = (from: number, to: number) => intervals.filter((i) => i.t > from && i.t <= to);
    const second = inWindow(windowSec, 2 * windowSec);
    const last = inWindow(SECONDS - windowSec, SECONDS + SAMPLE_SECONDS);
    const growth: Record<string, Record<string, { second?: number; last?: number; ratio?: number }>> = {};
    const flagged: string[] = [];
    for (const name of SERVICES) {
      growth[name] = {};
      for (const measure of ['rssMb', 'heapUsedMb', 'activeHandles', 'eventLoopP99Ms'] as const) {
        // The heap saws up and down with garbage collection; what leaks is its floor, the post-GC level.
        const level = measure === 'heapUsedMb' ? minimum : average;
        const a = level(second.map((i) => i.processes[name][measure]));
        const b = level(last.map((i) => i.processes[name][measure]));
        const ratio = a && b !== undefined ? b / a : undefined;
        growth[name][measure] = { second: round(a), last: round(b), ratio: round(ratio, 3) };
        if (measure !== 'eventLoopP99Ms' && ratio !== undefined && ratio > MAX_GROWTH)
          flagged.push(`${name} ${measure} grew ${ratio.toFixed(2)}x`);
      }
    }
    const latencies = all.map((s) => s.ms);
    const totals = {
      requests: all.length,
      errors: all.filter((s) => !s.ok).length,
      errorRate: round(all.filter((s) => !s.ok).length / Math.max(1, all.length), 5),
      rps: round(all.length / SECONDS, 1),
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: Math.max(0, ...latencies),
      byOperation: Object.fromEntries(
        (['me', 'images', 'fetchImage', 'login', 'upload'] as const).map((op) => {
          const of = all.filter((s) => s.op === op);
          return [
            op,
            {
              requests: of.length,
              errors: of.filter((s) => !s.ok).length,
              p99: percentile(
                of.map((s) => s.ms),
                99,
              ),
            },
          ];
        }),
      ),
    };
    const result = {
      startedAt: new Date(started).toISOString(),
      // Other work on the machine shows in the latencies; the load average says how much there was.
      machine: {
        cpus: cpus().length,
        node: process.version,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg().map((l) => round(l)),
      },
      config: {
        seconds: SECONDS,
        sampleSeconds: SAMPLE_SECONDS,
        concurrency: CONCURRENCY,
        maxGrowth: MAX_GROWTH,
        windowSec,
      },
      totals,
      rowsAfter: counts,
      growth,
      verdict: flagged.length ? `growth: ${flagged.join('; ')}` : 'no unbounded growth',
      intervals,
    };

    mkdirSync(RESULTS, { recursive: true });
    const jsonFile = path.join(RESULTS, 'latest.json');
    writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    try {
      // Keep the committed file in the repository's formatting.
      execFileSync(
        path.join(__dirname, '..', '..', 'node_modules', '.bin', 'biome'),
        ['format', '--write', jsonFile],
        { stdio: 'ignore' },
      );
    } catch {
      // Formatting is cosmetic.
    }
    const series = (measure: keyof ProcessSample) =>
      SERVICES.map((name) => ({
        name,
        points: intervals
          .filter((i) => i.processes[name][measure] !== undefined)
          .map((i) => [i.t, i.processes[name][measure] as number] as [number, number]),
      }));
    const panels: Panel[] = [
      { title: 'RSS', unit: 'MB', series: series('rssMb') },
      { title: 'Heap used', unit: 'MB', series: series('heapUsedMb') },
      { title: 'Event-loop delay p99', unit: 'ms', series: series('eventLoopP99Ms') },
      { title: 'Active handles', unit: 'count', series: series('activeHandles') },
      {
        title: 'Latency through the gateway',
        unit: 'ms',
        series: (['p50', 'p95', 'p99'] as const).map((p) => ({
          name: p,
          points: intervals.map((i) => [i.t, i[p]] as [number, number]),
        })),
      },
      {
        title: 'Throughput and errors',
        unit: 'req/s, errors/s',
        series: [
          { name: 'requests/s', points: intervals.map((i) => [i.t, i.rps] as [number, number]) },
          {
            name: 'errors/s',
            points: intervals.map((i) => [i.t, i.errors / SAMPLE_SECONDS] as [number, number]),
          },
        ],
      },
    ];
    writeFileSync(
      path.join(RESULTS, 'latest.svg'),
      renderChart(`Soak ${SECONDS} s, ${CONCURRENCY} clients, ${result.startedAt}`, panels),
    );
    const md = [
      `# Soak ${result.startedAt}`,
      '',
      `${SECONDS} s of mixed load through the gateway (me, me.images, signed image fetches, logins, uploads), ${CONCURRENCY} concurrent clients, ${cpus().length} CPUs, Node ${process.version}; 1-minute load average ${result.machine.loadAverageAtStart[0]} at the start, ${result.machine.loadAverageAtEnd[0]} at the end (other work on the machine included).`,
      '',
      `- requests: ${totals.requests} (${totals.rps} req/s), errors: ${totals.errors} (${((totals.errorRate ?? 0) * 100).toFixed(2)} %)`,
      `- latency: p50 ${totals.p50} ms, p95 ${totals.p95} ms, p99 ${totals.p99} ms, max ${totals.max} ms`,
      `- growth (last ${windowSec} s vs the second ${windowSec} s; averages, heap by its post-GC floor): ${result.verdict}`,
      '',
      '| service | RSS MB (2nd → last) | heap MB | active handles | event-loop p99 ms |',
      '|---|---|---|---|---|',
      ...SERVICES.map((name) => {
        const g = growth[name]!;
        const cell = (m: string) => `${g[m]?.second ?? '-'} → ${g[m]?.last ?? '-'}`;
        return `| ${name} | ${cell('rssMb')} | ${cell('heapUsedMb')} | ${cell('activeHandles')} | ${cell('eventLoopP99Ms')} |`;
      }),
      '',
      '![soak chart](latest.svg)',
      '',
    ].join('\n');
    writeFileSync(path.join(RESULTS, 'latest.md'), md);
    process.stdout.write(`\n${md}\nwritten: ${RESULTS}/latest.{json,svg,md}\n`);
    process.exitCode = flagged.length && SECONDS >= 300 ? 1 : 0;
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
