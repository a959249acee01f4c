import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LoadResult } from './load/job';
import { parseOnly, resultStem } from './main';
import { renderSvg, renderTable, renderTargets, type Target } from './report';
import { compareRounds } from './rounds';
import type { BaselineFigures, BenchSettings } from './scenarios';
import { brokenScenarios, type Figures, summarise } from './summary';

const settings: BenchSettings = {
  smoke: true,
  seconds: 1,
  warmupSeconds: 0,
  readConnections: 1,
  loginConnections: 1,
  floodConnections: 1,
  uploadCount: 1,
  uploadConcurrency: 1,
  uploadBytes: 5 * 1024 * 1024,
  bcryptCost: 10,
};

/** Scenario 7's figures from [side, reads/s, CPU ms/read] per round, in order. */
function baselineFigures(rounds: Array<['A' | 'B', number, number]>): BaselineFigures {
  const all = rounds.map(([side, rps, cpu]) => ({
    side,
    result: result(rps),
    cpuMsPerRequest: { gateway: cpu },
    warmupOkEachSecond: [rps / 2, rps],
    loadAverage: 1,
  }));
  return {
    ref: 'HEAD~1',
    order: rounds.map(([side]) => side).join(''),
    warmupSeconds: 2,
    postgresCpus: '0-1',
    rounds: all,
    comparison: compareRounds(rounds.map(([side, okPerSec, cpuMs]) => ({ side, okPerSec, cpuMs }))),
  };
}

function result(okPerSec: number, p99 = 10): LoadResult {
  return {
    label: 'x',
    durationSec: 1,
    requests: okPerSec,
    ok: okPerSec,
    shed: 0,
    failed: 0,
    okPerSec,
    requestsPerSec: okPerSec,
    latencyMs: { p50: p99 / 2, p90: p99, p99, max: p99, mean: p99 / 2 },
    okEachSecond: [okPerSec],
    statusCodes: { 200: okPerSec },
    transportErrors: 0,
    timeouts: 0,
  };
}

describe('bench report', () => {
  const figures: Figures = {
    login: {
      gateway: result(45),
      bcryptComparesPerSec: 50,
      bcryptComparesPerSecEach: [48, 52],
      bcryptConcurrency: 2,
      ratio: 0.9,
      cpuMsPerLogin: { gateway: 1, 'subgraph-auth': 40, postgres: 2 },
      bcryptCpuMsPerCompare: 38,
      cpuMsPerLoginOutsideBcrypt: 5,
    },
    read: {
      targets: [
        {
          name: 'our gateway',
          query: 'federated' as const,
          result: result(300, 12),
          ratioToOurs: 1,
          cpuMsPerRequest: { gateway: 2, 'subgraph-auth': 1 },
        },
        {
          name: 'stock @apollo/gateway',
          query: 'federated' as const,
          result: result(150),
          ratioToOurs: 0.5,
          cpuMsPerRequest: {},
        },
        {
          name: 'Hive Gateway',
          query: 'federated' as const,
          result: result(310),
          ratioToOurs: 310 / 300,
          cpuMsPerRequest: {},
        },
        {
          name: 'auth subgraph direct',
          query: 'direct' as const,
          result: result(900),
          ratioToOurs: 3,
          cpuMsPerRequest: {},
        },
      ],
    },
    flood: {
      rate: 120,
      quiet: result(120, 20),
      underFlood: result(120, 70),
      flood: result(40),
      p99Ratio: 3.5,
    },
  };

  it('judges each target of the issue from the figures', () => {
    const { targets } = summarise(figures, settings);
    expect(targets.map((t) => [t.what, t.met])).toEqual([
      ['login throughput >= 90% of the bcrypt ceiling', true],
      // 5 ms outside bcrypt is more than a tenth of a 38 ms compare.
      ['CPU per login outside bcrypt < 1/10 of a compare', false],
      ['federated read CPU across processes <= 4.5 ms', true],
      ['federated read >= 1.5x stock @apollo/gateway', true],
      // 12 ms against stock's 10 ms.
      ['federated read p99 no worse than stock @apollo/gateway', false],
      ['federated read ahead of Hive Gateway', false],
      ['read p99 under a login flood <= 3x without', false],
    ]);
  });

  it('prints an aligned table and a chart with one bar per measured series', () => {
    const { rows, panels } = summarise(figures, settings);
    const table = renderTable(rows).split('\n');
    expect(new Set(table.map((line) => line.length)).size).toBe(1);
    expect(table.some((line) => line.includes('stock @apollo/gateway') && line.includes('150/s'))).toBe(true);
    expect(
      table.some(
        (line) => line.includes('CPU ms/request: our gateway') && line.includes('gateway 2.00, auth 1.00'),
      ),
    ).toBe(true);
    // The ceiling is the mean of one measured before and one after the logins; both are shown.
    expect(table.some((line) => line.includes('the mean of 48.0 before and 52.0 after'))).toBe(true);
    const svg = renderSvg('t <&>', ['sub'], panels);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('t &lt;&amp;&gt;');
    expect(svg.match(/<rect x=/g)).toHaveLength(2 + 4 + 2);
  });

  it('judges the upload, one-core and baseline targets', () => {
    const mib = 1024 * 1024;
    const { targets } = summarise(
      {
        uploads: {
          fileBytes: 5 * mib,
          concurrency: 4,
          gateway: result(2),
          gatewayMBps: 30,
          rss: {
            gateway: { beforeBytes: 100 * mib, peakBytes: 120 * mib, hwmBytes: 120 * mib },
            'subgraph-image': { beforeBytes: 100 * mib, peakBytes: 140 * mib, hwmBytes: 140 * mib },
          },
          cpuMsPerUpload: { 'subgraph-image': 50 },
          rawPg: { MBps: 50, inserts: 24, seconds: 2 },
          ratio: 0.6,
          readRate: 40,
          readAlone: result(40, 20),
          readDuringUploads: result(40, 30),
          uploadsDuringReads: result(2),
          readP99Ratio: 1.5,
        },
        pi: {
          systemCpus: '0',
          loadGeneratorCpus: '1',
          read: result(100),
          cpuMsPerRead: { gateway: 3 },
          login: { ...(figures.login as NonNullable<Figures['login']>), ratio: 0.8 },
          uploads: result(1),
          uploadsPerSec: 1,
        },
        baseline: baselineFigures([
          ['A', 198, 5.1],
          ['B', 200, 5],
          ['A', 196, 5.1],
          ['B', 200, 5],
        ]),
      },
      settings,
    );
    expect(targets.map((t) => [t.what, t.met])).toEqual([
      ['upload throughput >= 50% of raw pg insert', true],
      ['gateway peak RSS grows < 64 MiB during uploads', true],
      ['image API process peak RSS grows < 32 MiB during 4 concurrent 5.0 MiB uploads', false],
      ['read p99 while uploads run <= 2x reads alone', true],
      ['one core: login throughput >= 90% of the one-core bcrypt ceiling', false],
      ['federated read < 5% slower than HEAD~1 (median of 2 pairs ABAB, throughput and CPU per read)', true],
    ]);
  });

  it('calls the baseline target inconclusive when the pairs spread wider than the effect judged', () => {
    const judged = (rounds: Array<['A' | 'B', number, number]>) => {
      const { targets, rows, panels } = summarise({ baseline: baselineFigures(rounds) }, settings);
      return { target: targets[0] as Target, rows, panels, text: renderTargets(targets) };
    };
    // Pairs 2% and 10% slower in throughput: a spread of 8 points, wider than the 5% judged.
    const noisy = judged([
      ['A', 98, 5],
      ['B', 100, 5],
      ['A', 90, 5],
      ['B', 99, 5],
    ]);
    expect(noisy.target.met).toBe(false);
    expect(noisy.target.inconclusive).toBe(true);
    expect(noisy.text).toMatch(/^- \[\?\] .*INCONCLUSIVE/);
    expect(noisy.rows.map((r) => r.measure)).toEqual([
      'round 1: this checkout',
      'round 2: HEAD~1',
      'round 3: this checkout',
      'round 4: HEAD~1',
      'throughput cost vs HEAD~1',
      'CPU/read cost vs HEAD~1',
    ]);
    expect(noisy.panels[0]?.bars).toHaveLength(4);
    // Steady pairs, both about 8% more CPU per read: clearly not met.
    const slower = judged([
      ['A', 100, 5.4],
      ['B', 100, 5],
      ['B', 100, 5],
      ['A', 100, 5.41],
    ]);
    expect([slower.target.met, slower.target.inconclusive]).toEqual([false, undefined]);
    // One pair: no spread to tell noise by.
    expect(
      judged([
        ['A', 100, 5],
        ['B', 100, 5],
      ]).target.inconclusive,
    ).toBe(true);
  });

  it('runs the scenarios named or numbered, and refuses one it does not know', () => {
    expect([...parseOnly('read, 1', false)]).toEqual(['read', 'login']);
    expect([...parseOnly(undefined, false)]).not.toContain('baseline');
    expect([...parseOnly(undefined, true)]).toContain('baseline');
    expect(() => parseOnly('reads', false)).toThrow(/unknown scenario "reads"/);
    expect(() => parseOnly('baseline', false)).toThrow(/--baseline REF/);
  });

  it('calls a scenario broken only when nothing in it succeeded', () => {
    expect(brokenScenarios(figures)).toEqual([]);
    const login = figures.login as NonNullable<Figures['login']>;
    const broken: Figures = {
      ...figures,
      login: { ...login, gateway: { ...result(0), firstFailure: 'HTTP 500' } },
    };
    expect(brokenScenarios(broken)).toEqual(['login: no successful request (HTTP 500)']);
  });
});

describe('resultStem', () => {
  it("names a day's later runs -2, -3, ... instead of writing over the first", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-results-'));
    try {
      expect(resultStem(dir, '2026-12-02')).toBe('2026-12-02');
      writeFileSync(path.join(dir, '2026-12-02.json'), '{}');
      expect(resultStem(dir, '2026-12-02')).toBe('2026-12-02-2');
      writeFileSync(path.join(dir, '2026-12-02-2.svg'), '<svg/>');
      expect(resultStem(dir, '2026-12-02')).toBe('2026-12-02-3');
      // Another kind of run the same day has names of its own.
      expect(resultStem(dir, '2026-12-02-smoke')).toBe('2026-12-02-smoke');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
