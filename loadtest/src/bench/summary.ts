/**
 * Turns the figures of one bench run into table rows, the issues' targets (met or not) and the
 * chart's panels. Pure: the tests feed it figures.
 */
import type { LoadResult } from './load/job';
import { formatNumber, type Panel, type Row, type Target } from './report';
import { combine, judgeSlowdown } from './rounds';
import {
  type BaselineFigures,
  type BenchSettings,
  type FetchFigures,
  type FloodFigures,
  type LoginFigures,
  type PiFigures,
  type ReadFigures,
  sum,
  type UploadFigures,
} from './scenarios';

const MIB = 1024 * 1024;

export const ms = (value: number) => `${formatNumber(value)} ms`;
const latency = (r: LoadResult) => `p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}`;
const outcome = (r: LoadResult) =>
  `${r.ok} ok${r.shed ? `, ${r.shed} shed` : ''}${r.failed ? `, ${r.failed} FAILED` : ''}`;
const mib = (bytes: number) => `${formatNumber(bytes / MIB)} MiB`;
const perProcess = (values: Record<string, number>) =>
  Object.entries(values)
    .map(([name, value]) => `${name.replace('subgraph-', '')} ${formatNumber(value, 2)}`)
    .join(', ');

export interface Figures {
  login?: LoginFigures;
  read?: ReadFigures;
  flood?: FloodFigures;
  uploads?: UploadFigures;
  fetch?: FetchFigures;
  pi?: PiFigures;
  /** Idle (just started) and peak memory per process over the whole run: RSS, PSS for Postgres. */
  memory?: Record<string, { idleBytes: number; peakBytes: number }>;
  baseline?: BaselineFigures;
}

/** The targets of issues 6, 14, 15 and 17 this run can judge. */
export const LIMITS = {
  loginRatio: 0.9,
  /** CPU a login costs outside its bcrypt compare, as a share of the compare. */
  loginOverheadShare: 0.1,
  readCpuMs: 4.5,
  readVsStock: 1.5,
  floodP99Ratio: 3,
  uploadRatio: 0.5,
  gatewayUploadRssMiB: 64,
  imageApiUploadRssMiB: 32,
  uploadReadP99Ratio: 2,
  revocationSlowdown: 0.05,
};

export function summarise(f: Figures, s: BenchSettings): { rows: Row[]; targets: Target[]; panels: Panel[] } {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const panels: Panel[] = [];
  if (f.login) {
    const { gateway, bcryptComparesPerSec, bcryptComparesPerSecEach, bcryptConcurrency, ratio } = f.login;
    const [ceilingBefore, ceilingAfter] = bcryptComparesPerSecEach;
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
        detail: `compares/s, ${bcryptConcurrency} at once, own process; the mean of ${formatNumber(ceilingBefore)} before and ${formatNumber(ceilingAfter)} after the logins`,
      },
      {
        scenario: '1 login',
        measure: 'ratio',
        value: `${formatNumber(ratio * 100)}%`,
        detail: 'target >= 90%',
      },
    );
    const { cpuMsPerLogin, bcryptCpuMsPerCompare, cpuMsPerLoginOutsideBcrypt } = f.login;
    rows.push({
      scenario: '1 login',
      measure: 'CPU ms/login outside bcrypt',
      value: formatNumber(cpuMsPerLoginOutsideBcrypt, 2),
      detail: `all processes ${formatNumber(sum(cpuMsPerLogin), 2)} (${perProcess(cpuMsPerLogin)}) - one compare ${formatNumber(bcryptCpuMsPerCompare, 2)}`,
    });
    targets.push(
      {
        what: 'login throughput >= 90% of the bcrypt ceiling',
        actual: `${formatNumber(ratio * 100)}%`,
        met: ratio >= LIMITS.loginRatio,
      },
      {
        what: 'CPU per login outside bcrypt < 1/10 of a compare',
        actual: `${formatNumber(cpuMsPerLoginOutsideBcrypt, 2)} ms vs ${formatNumber(bcryptCpuMsPerCompare * LIMITS.loginOverheadShare, 2)} ms`,
        met: cpuMsPerLoginOutsideBcrypt < bcryptCpuMsPerCompare * LIMITS.loginOverheadShare,
      },
    );
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
      rows.push({
        scenario: '2 read',
        measure: `CPU ms/request: ${t.name}`,
        value: formatNumber(sum(t.cpuMsPerRequest ?? {}), 2),
        detail: perProcess(t.cpuMsPerRequest ?? {}),
      });
    }
    const target = (name: string) => f.read?.targets.find((t) => t.name === name);
    const by = (name: string) => target(name)?.result.okPerSec ?? Number.NaN;
    const ours = by('our gateway');
    const ourCpu = sum(target('our gateway')?.cpuMsPerRequest ?? {});
    const p99 = (name: string) => target(name)?.result.latencyMs.p99 ?? Number.NaN;
    targets.push(
      {
        what: `federated read CPU across processes <= ${LIMITS.readCpuMs} ms`,
        actual: `${formatNumber(ourCpu, 2)} ms`,
        met: ourCpu <= LIMITS.readCpuMs,
      },
      {
        what: 'federated read >= 1.5x stock @apollo/gateway',
        actual: `x${formatNumber(ours / by('stock @apollo/gateway'), 2)}`,
        met: ours >= LIMITS.readVsStock * by('stock @apollo/gateway'),
      },
      {
        what: 'federated read p99 no worse than stock @apollo/gateway',
        actual: `${ms(p99('our gateway'))} vs ${ms(p99('stock @apollo/gateway'))}`,
        met: p99('our gateway') <= p99('stock @apollo/gateway'),
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
      met: p99Ratio <= LIMITS.floodP99Ratio,
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
      {
        scenario: '4 upload',
        measure: 'CPU ms/upload',
        value: formatNumber(sum(u.cpuMsPerUpload)),
        detail: perProcess(u.cpuMsPerUpload),
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
    rows.push(
      {
        scenario: '4 upload',
        measure: `read at ${u.readRate}/s, no uploads`,
        value: ms(u.readAlone.latencyMs.p99),
        detail: `p99; p50 ${ms(u.readAlone.latencyMs.p50)}; ${outcome(u.readAlone)}`,
      },
      {
        scenario: '4 upload',
        measure: `read at ${u.readRate}/s, uploads running`,
        value: ms(u.readDuringUploads.latencyMs.p99),
        detail: `p99; p50 ${ms(u.readDuringUploads.latencyMs.p50)}; ${outcome(u.readDuringUploads)}; uploads meanwhile: ${outcome(u.uploadsDuringReads)}`,
      },
    );
    if (u.workers) {
      const { one, two, ratio } = u.workers;
      const perSec = (r: LoadResult) => formatNumber(r.ok / r.durationSec, 2);
      rows.push({
        scenario: '4 upload',
        measure: 'processing: 1 worker -> 2 worker processes',
        value: `x${formatNumber(ratio, 2)}`,
        detail: `${perSec(one)} -> ${perSec(two)} uploads/s; with 2: ${latency(two)}; ${outcome(two)}`,
      });
      panels.push({
        title: '4. Uploads processed, by worker processes',
        unit: 'uploads/s',
        bars: [
          { label: 'one worker', value: one.ok / one.durationSec },
          { label: 'two workers', value: two.ok / two.durationSec },
        ],
      });
    }
    targets.push(
      {
        what: 'upload throughput >= 50% of raw pg insert',
        actual: `${formatNumber(u.ratio * 100)}%`,
        met: u.ratio >= LIMITS.uploadRatio,
      },
      {
        what: `gateway peak RSS grows < ${LIMITS.gatewayUploadRssMiB} MiB during uploads`,
        actual: `+${mib(growth('gateway'))}`,
        met: growth('gateway') < LIMITS.gatewayUploadRssMiB * MIB,
      },
      {
        what: `image API process peak RSS grows < ${LIMITS.imageApiUploadRssMiB} MiB during ${u.concurrency} concurrent ${mib(u.fileBytes)} uploads`,
        actual: `+${mib(growth('subgraph-image'))}`,
        met: growth('subgraph-image') < LIMITS.imageApiUploadRssMiB * MIB,
      },
      {
        what: `read p99 while uploads run <= ${LIMITS.uploadReadP99Ratio}x reads alone`,
        actual: `x${formatNumber(u.readP99Ratio, 2)}`,
        met: u.readP99Ratio <= LIMITS.uploadReadP99Ratio,
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
      {
        title: `4. Federated read p99 at ${u.readRate}/s`,
        unit: 'ms',
        bars: [
          { label: 'no uploads', value: u.readAlone.latencyMs.p99 },
          { label: 'uploads running', value: u.readDuringUploads.latencyMs.p99 },
        ],
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
  if (f.pi) {
    const { read, cpuMsPerRead, login, uploads, uploadsPerSec, systemCpus, loadGeneratorCpus } = f.pi;
    rows.push({
      scenario: '6 one core',
      measure: 'federated reads/s per core',
      value: formatNumber(read.okPerSec),
      detail: `${latency(read)}; CPU ms/read ${formatNumber(sum(cpuMsPerRead), 2)}; system on CPU ${systemCpus}, load generator on ${loadGeneratorCpus}`,
    });
    const bars = [{ label: 'federated reads', value: read.okPerSec }];
    if (login) {
      rows.push({
        scenario: '6 one core',
        measure: 'logins/s per core',
        value: formatNumber(login.gateway.okPerSec),
        detail: `${latency(login.gateway)}; one-core bcrypt ceiling ${formatNumber(login.bcryptComparesPerSec)}/s, ratio ${formatNumber(login.ratio * 100)}%`,
      });
      targets.push({
        what: 'one core: login throughput >= 90% of the one-core bcrypt ceiling',
        actual: `${formatNumber(login.ratio * 100)}%`,
        met: login.ratio >= LIMITS.loginRatio,
      });
      bars.push(
        { label: 'logins', value: login.gateway.okPerSec },
        { label: 'bcrypt ceiling, one core', value: login.bcryptComparesPerSec },
      );
    }
    if (uploads && uploadsPerSec !== undefined) {
      rows.push({
        scenario: '6 one core',
        measure: `${mib(s.uploadBytes)} uploads/s per core`,
        value: formatNumber(uploadsPerSec, 2),
        detail: `${latency(uploads)}; ${outcome(uploads)}`,
      });
      bars.push({ label: `${mib(s.uploadBytes)} uploads`, value: uploadsPerSec });
    }
    panels.push({ title: '6. One core for the whole system (Pi-sized)', unit: 'per second', bars });
  }
  if (f.memory) {
    for (const [name, m] of Object.entries(f.memory)) {
      rows.push({
        scenario: 'memory',
        measure: `${name} ${name === 'postgres' ? 'PSS (all backends)' : 'RSS'}`,
        value: `${mib(m.idleBytes)} idle`,
        detail: `peak ${mib(m.peakBytes)} over the run`,
      });
    }
  }
  if (f.baseline) {
    const b = f.baseline;
    const sideName = (side: 'A' | 'B') => (side === 'A' ? 'this checkout' : b.ref);
    for (const [i, round] of b.rounds.entries()) {
      // The last second of the warm-up is a partial one.
      const warm = round.warmupOkEachSecond.slice(0, b.warmupSeconds);
      rows.push({
        scenario: '7 baseline',
        measure: `round ${i + 1}: ${sideName(round.side)}`,
        value: `${formatNumber(round.result.okPerSec)}/s`,
        detail: `${latency(round.result)}; CPU ms/read ${formatNumber(sum(round.cpuMsPerRequest), 2)} (${perProcess(round.cpuMsPerRequest)})${warm.length ? `; warm-up ${b.warmupSeconds} s: ${warm[0]}/s first s, ${warm.at(-1)}/s last s` : ''}; load average ${round.loadAverage}`,
      });
    }
    const { throughputSlowdown: t, cpuSlowdown: c } = b.comparison;
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${formatNumber(x * 100, 1)}%`;
    const described = (x: typeof t) =>
      `median ${pct(x.median)} (pairs ${pct(x.min)} .. ${pct(x.max)}, spread ${formatNumber(x.range * 100, 1)} points)`;
    rows.push(
      {
        scenario: '7 baseline',
        measure: `throughput cost vs ${b.ref}`,
        value: pct(t.median),
        detail: `${described(t)}; ${b.ref}'s reads/s over this checkout's, per pair, minus 1`,
      },
      {
        scenario: '7 baseline',
        measure: `CPU/read cost vs ${b.ref}`,
        value: pct(c.median),
        detail: `${described(c)}; this checkout's CPU ms/read over ${b.ref}'s, per pair, minus 1`,
      },
    );
    const limit = LIMITS.revocationSlowdown;
    const verdicts = [judgeSlowdown(t, limit), judgeSlowdown(c, limit)];
    const verdict = combine(verdicts);
    targets.push({
      what: `federated read < ${limit * 100}% slower than ${b.ref} (median of ${t.count} pairs ${b.order}, throughput and CPU per read)`,
      actual: `throughput ${described(t)}, CPU ${described(c)}${verdict === 'inconclusive' ? `: INCONCLUSIVE, ${t.count < 2 ? 'one pair has no spread to judge noise by' : `the pairs spread wider than the ${limit * 100}% being judged`}` : ''}`,
      met: verdict === 'met',
      ...(verdict === 'inconclusive' ? { inconclusive: true } : {}),
    });
    panels.push({
      title: `7. Federated read, this checkout vs ${b.ref}, ${b.order}`,
      unit: 'requests/s',
      bars: b.rounds.map((round, i) => ({
        label: `${i + 1}: ${sideName(round.side)}`,
        value: round.result.okPerSec,
      })),
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
    ['uploads, two workers', f.uploads?.workers?.two],
    ['read, no uploads', f.uploads?.readAlone],
    ['read, during uploads', f.uploads?.readDuringUploads],
    ['one core: read', f.pi?.read],
    ['one core: login', f.pi?.login?.gateway],
    ['one core: uploads', f.pi?.uploads],
    ...((f.baseline?.rounds ?? []).map((r, i) => [`baseline round ${i + 1} (${r.side})`, r.result]) as Array<
      [string, LoadResult]
    >),
    ['fetch 200', f.fetch?.full],
    ['fetch 304', f.fetch?.notModified],
  ];
  return all
    .filter(([, r]) => r !== undefined && r.ok === 0)
    .map(([name, r]) => `${name}: no successful request (${r?.firstFailure ?? 'no response'})`);
}
