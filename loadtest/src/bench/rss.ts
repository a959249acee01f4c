import { readFileSync } from 'node:fs';
import { childPids } from './cpu';

export interface MemoryStatus {
  rssBytes: number;
  /** High-water mark of RSS since the process started. */
  hwmBytes: number;
}

/** VmRSS and VmHWM of a process from /proc (Linux); undefined elsewhere or once it has exited. */
export function readMemory(pid: number): MemoryStatus | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssBytes: kib('VmRSS') * 1024, hwmBytes: kib('VmHWM') * 1024 };
}

export interface RssSampler {
  /** Per pid: RSS before, highest sampled RSS, and VmHWM at the end. */
  stop(): Record<string, { beforeBytes: number; peakBytes: number; hwmBytes: number }>;
}

/** Samples RSS of the named processes every `intervalMs` until stopped. */
export function sampleRss(pids: Record<string, number>, intervalMs = 50): RssSampler {
  const before: Record<string, number> = {};
  const peak: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const rss = readMemory(pid)?.rssBytes ?? Number.NaN;
    before[name] = rss;
    peak[name] = rss;
  }
  const timer = setInterval(() => {
    for (const [name, pid] of Object.entries(pids)) {
      const rss = readMemory(pid)?.rssBytes;
      if (rss !== undefined && !(rss <= (peak[name] as number))) peak[name] = rss;
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => [
          name,
          {
            beforeBytes: before[name] as number,
            peakBytes: peak[name] as number,
            hwmBytes: readMemory(pid)?.hwmBytes ?? Number.NaN,
          },
        ]),
      );
    },
  };
}

/**
 * Proportional set size of a process and its direct children (/proc/<pid>/smaps_rollup): for
 * Postgres, whose backends share the buffer pool, adding their RSS would count it once per backend.
 */
export function treePssBytes(rootPid: number): number {
  let total = 0;
  for (const pid of [rootPid, ...childPids(rootPid)]) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      total += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return total;
}

export interface MemoryWatch {
  /** The first sample (the idle system, once started) and the highest, per process. */
  stop(): Record<string, { idleBytes: number; peakBytes: number }>;
}

/**
 * Samples each process' memory every `intervalMs` for a whole run: RSS for the services, PSS of
 * the tree for Postgres (`tree: true`). The first sample is the idle figure. A tree is sampled
 * every `treeIntervalMs` only: a PSS sample of Postgres reads smaps_rollup of every backend (and
 * scans /proc for them), 4.4 ms of CPU each time on the bench machine, which at every 250 ms took
 * about 1 % of its two cores from the scenario being measured.
 */
export function watchMemory(
  processes: Record<string, { pid: number; tree?: boolean }>,
  intervalMs = 250,
  treeIntervalMs = 2000,
): MemoryWatch {
  const figures: Record<string, { idleBytes: number; peakBytes: number }> = {};
  let lastTreeSample = Number.NEGATIVE_INFINITY;
  const sample = (final = false) => {
    const now = performance.now();
    const withTrees = final || now - lastTreeSample >= treeIntervalMs;
    if (withTrees) lastTreeSample = now;
    for (const [name, p] of Object.entries(processes)) {
      if (p.tree && !withTrees) continue;
      const bytes = p.tree ? treePssBytes(p.pid) : readMemory(p.pid)?.rssBytes;
      if (bytes === undefined || !Number.isFinite(bytes) || bytes === 0) continue;
      const current = figures[name];
      if (!current) figures[name] = { idleBytes: bytes, peakBytes: bytes };
      else current.peakBytes = Math.max(current.peakBytes, bytes);
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample(true);
      // VmHWM catches a peak between two samples of a service.
      for (const [name, p] of Object.entries(processes)) {
        const hwm = p.tree ? undefined : readMemory(p.pid)?.hwmBytes;
        const current = figures[name];
        if (current && hwm !== undefined && Number.isFinite(hwm))
          current.peakBytes = Math.max(current.peakBytes, hwm);
      }
      return figures;
    },
  };
}
