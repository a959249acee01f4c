import { readFileSync } from 'node:fs';

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
