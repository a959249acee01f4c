/**
 * Scenario 7's arithmetic, pure so the tests can feed it figures: the order of the A/B rounds,
 * the pairs' ratios, their median and spread, and a verdict that says "inconclusive" when the
 * rounds disagree by more than the effect being judged.
 */

/** `A` = this checkout, `B` = the baseline: e.g. "ABABAB"; as many of each, at least one. */
export function parseOrder(order: string): Array<'A' | 'B'> {
  const rounds = order.toUpperCase().split('');
  if (rounds.some((r) => r !== 'A' && r !== 'B'))
    throw new Error(`--baseline-order "${order}": only A (this checkout) and B (the baseline)`);
  const as = rounds.filter((r) => r === 'A').length;
  if (as === 0 || as * 2 !== rounds.length)
    throw new Error(`--baseline-order "${order}": needs as many A as B, at least one of each`);
  return rounds as Array<'A' | 'B'>;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** How much one estimate of a cost varies across pairs: its median, lowest, highest, and their distance. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** max - min. */
  range: number;
  count: number;
}

export function spread(values: number[]): Spread {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median: median(values), min, max, range: max - min, count: values.length };
}

export interface RoundFigures {
  side: 'A' | 'B';
  okPerSec: number;
  /** CPU ms per read, all processes. */
  cpuMs: number;
}

export interface Comparison {
  /**
   * Per pair (the i-th A with the i-th B): how much slower this checkout is than the baseline, as
   * a fraction (0.03 = 3% slower; negative: faster). Throughput: B's reads/s over A's, minus 1;
   * CPU: A's CPU per read over B's, minus 1.
   */
  pairs: Array<{ throughputSlowdown: number; cpuSlowdown: number }>;
  throughputSlowdown: Spread;
  cpuSlowdown: Spread;
}

export function compareRounds(rounds: RoundFigures[]): Comparison {
  const a = rounds.filter((r) => r.side === 'A');
  const b = rounds.filter((r) => r.side === 'B');
  const pairs = a.slice(0, b.length).map((current, i) => {
    const baseline = b[i] as RoundFigures;
    return {
      throughputSlowdown: baseline.okPerSec / current.okPerSec - 1,
      cpuSlowdown: current.cpuMs / baseline.cpuMs - 1,
    };
  });
  return {
    pairs,
    throughputSlowdown: spread(pairs.map((p) => p.throughputSlowdown)),
    cpuSlowdown: spread(pairs.map((p) => p.cpuSlowdown)),
  };
}

export type Verdict = 'met' | 'not met' | 'inconclusive';

/**
 * "Less than `limit` slower", judged on the median, unless the pairs spread wider than `limit`
 * itself: then noise (other work on the machine, drift) is as large as the effect being judged
 * and the run cannot tell. One pair has no spread to tell noise by: inconclusive too.
 */
export function judgeSlowdown(s: Spread, limit: number): Verdict {
  if (s.count < 2 || !Number.isFinite(s.median) || !(s.range <= limit)) return 'inconclusive';
  return s.median < limit ? 'met' : 'not met';
}

/** Both must be met; one clearly not met decides; otherwise inconclusive. */
export function combine(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('not met')) return 'not met';
  return verdicts.every((v) => v === 'met') ? 'met' : 'inconclusive';
}
