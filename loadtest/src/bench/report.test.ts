import type { LoadResult } from './load/job';
import { brokenScenarios, type Figures, summarise } from './main';
import { renderSvg, renderTable } from './report';
import type { BenchSettings } from './scenarios';

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
    statusCodes: { 200: okPerSec },
    transportErrors: 0,
    timeouts: 0,
  };
}

describe('bench report', () => {
  const figures: Figures = {
    login: { gateway: result(45), bcryptComparesPerSec: 50, bcryptConcurrency: 2, ratio: 0.9 },
    read: {
      targets: [
        {
          name: 'our gateway',
          query: 'federated' as const,
          result: result(300),
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
      ['federated read >= 1.5x stock @apollo/gateway', true],
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
    const svg = renderSvg('t <&>', ['sub'], panels);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('t &lt;&amp;&gt;');
    expect(svg.match(/<rect x=/g)).toHaveLength(2 + 4 + 2);
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
