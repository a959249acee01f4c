import { combine, compareRounds, judgeSlowdown, median, parseOrder, spread } from './rounds';

describe("scenario 7's rounds", () => {
  it('takes an order of A and B rounds, as many of each', () => {
    expect(parseOrder('abab')).toEqual(['A', 'B', 'A', 'B']);
    expect(parseOrder('ABBA')).toEqual(['A', 'B', 'B', 'A']);
    expect(() => parseOrder('AAB')).toThrow(/as many A as B/);
    expect(() => parseOrder('')).toThrow(/at least one/);
    expect(() => parseOrder('ACAB')).toThrow(/only A/);
  });

  it('pairs the i-th A with the i-th B and takes the median and spread of their ratios', () => {
    const c = compareRounds([
      { side: 'A', okPerSec: 100, cpuMs: 4.2 },
      { side: 'B', okPerSec: 110, cpuMs: 4 },
      { side: 'B', okPerSec: 100, cpuMs: 4 },
      { side: 'A', okPerSec: 100, cpuMs: 4 },
      { side: 'A', okPerSec: 95, cpuMs: 4.4 },
      { side: 'B', okPerSec: 100, cpuMs: 4 },
    ]);
    expect(c.pairs.map((p) => Number(p.throughputSlowdown.toFixed(4)))).toEqual([0.1, 0, 0.0526]);
    expect(c.pairs.map((p) => Number(p.cpuSlowdown.toFixed(4)))).toEqual([0.05, 0, 0.1]);
    expect(c.throughputSlowdown.median).toBeCloseTo(0.0526, 4);
    expect(c.cpuSlowdown).toEqual({
      median: expect.closeTo(0.05, 6),
      min: 0,
      max: expect.closeTo(0.1, 6),
      range: expect.closeTo(0.1, 6),
      count: 3,
    });
  });

  it('judges on the median unless the spread is wider than the limit', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(judgeSlowdown(spread([0.01, 0.02, 0.03]), 0.05)).toBe('met');
    expect(judgeSlowdown(spread([0.06, 0.07, 0.08]), 0.05)).toBe('not met');
    expect(judgeSlowdown(spread([-0.03, 0.01, 0.04]), 0.05)).toBe('inconclusive');
    expect(judgeSlowdown(spread([0.01]), 0.05)).toBe('inconclusive');
    expect(combine(['met', 'met'])).toBe('met');
    expect(combine(['met', 'inconclusive'])).toBe('inconclusive');
    expect(combine(['inconclusive', 'not met'])).toBe('not met');
  });
});
