import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks; 100 on every mainstream build. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far (Linux /proc), or NaN. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Direct children of `pid` (Postgres: the backends of the postmaster). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/** A process and its direct children (Postgres: the postmaster and its backends). */
export function treeCpuSeconds(rootPid: number): number {
  return childPids(rootPid).reduce((total, pid) => total + cpuSeconds(pid), cpuSeconds(rootPid));
}

export interface CpuMeter {
  /** CPU milliseconds each process used since the meter started. */
  stop(): Record<string, number>;
}

export function meterCpu(processes: Record<string, { pid: number; tree?: boolean }>): CpuMeter {
  const read = () =>
    Object.fromEntries(
      Object.entries(processes).map(([name, p]) => [
        name,
        p.tree ? treeCpuSeconds(p.pid) : cpuSeconds(p.pid),
      ]),
    );
  const before = read();
  return {
    stop() {
      const after = read();
      return Object.fromEntries(
        Object.keys(processes).map((name) => [
          name,
          ((after[name] as number) - (before[name] as number)) * 1000,
        ]),
      );
    },
  };
}
