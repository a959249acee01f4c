import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks; 100 on every mainstream build. */
const TICKS_PER_SECOND = 100;

interface Stat {
  ppid: number;
  /** utime + stime: the process' own CPU, all threads, in ticks. */
  own: number;
  /** cutime + cstime: the CPU of the children it has waited for (reaped) after they exited. */
  reaped: number;
}

/** Fields of /proc/<pid>/stat (Linux), or undefined once the process is gone. */
function readStat(pid: number): Stat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may contain spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (i: number) => Number(fields[i]);
  return { ppid: field(1), own: field(11) + field(12), reaped: field(13) + field(14) };
}

/** User + system CPU seconds a process has used so far (Linux /proc), or NaN. */
export function cpuSeconds(pid: number): number {
  const stat = readStat(pid);
  return stat ? stat.own / TICKS_PER_SECOND : Number.NaN;
}

/** Direct children of `pid` (Postgres: the backends of the postmaster). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (readStat(Number(entry))?.ppid === pid) children.push(Number(entry));
  }
  return children;
}

/**
 * CPU seconds of a process and of every child it has had, alive or exited (Postgres: the
 * postmaster and all its backends, including those that came and went). Summing the live children
 * alone loses a backend that exits between two readings (a pool closing an idle connection, the
 * old services' connections at a restart), which made the difference of two readings negative.
 * The kernel adds an exited child's CPU to its parent's cutime/cstime when the parent reaps it, so
 * the root's own + reaped + each live child's own + reaped is every tick the tree ever used, at any
 * instant. The root is read before and after its children: if it reaped one in between (that
 * child may have been counted twice, or not at all), the reading is taken again.
 */
export function treeCpuSeconds(rootPid: number): number {
  for (let attempt = 0; ; attempt++) {
    const before = readStat(rootPid);
    if (!before) return Number.NaN;
    let children = 0;
    for (const pid of childPids(rootPid)) {
      const child = readStat(pid);
      // A child already gone is either a zombie not yet reaped (still readable) or in `reaped`.
      if (child && child.ppid === rootPid) children += child.own + child.reaped;
    }
    const after = readStat(rootPid);
    if (!after) return Number.NaN;
    if (after.reaped === before.reaped || attempt >= 20)
      return (after.own + after.reaped + children) / TICKS_PER_SECOND;
  }
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
