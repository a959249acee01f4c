/**
 * Keeps a set of child processes running, the way a process manager would on one machine: a unit
 * that exits unexpectedly is started again after a backoff while the others keep serving; a unit
 * that keeps crashing is given up on, with its name and its last words; a stop ends every unit in
 * reverse start order, each with SIGTERM first and SIGKILL only past its grace period.
 */
import type { ChildProcess } from 'node:child_process';

export interface Unit {
  name: string;
  /** Spawns the process, with stdout and stderr piped. */
  spawn(): ChildProcess;
  /** Resolves once the process serves; rejects if it cannot (it is then killed and counts as a crash). */
  ready(child: ChildProcess): Promise<void>;
  /** How long it may take to stop after SIGTERM before it is killed. */
  stopGraceMs: number;
  /** Pass its output on to ours (services log JSON lines worth seeing). */
  forwardOutput: boolean;
}

export interface SupervisorOptions {
  log(message: string): void;
  /** First restart delay; doubled per crash in a row, up to `maxBackoffMs`. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** More than this many crashes of one unit within `crashWindowMs` is a crash loop: give up. */
  maxCrashes: number;
  crashWindowMs: number;
  /** Called once, when a unit is given up on. */
  onGiveUp(unit: string, why: string): void;
}

interface Running {
  unit: Unit;
  child?: ChildProcess;
  /** The process between spawn and ready: its failures belong to launch(), not to the crash handler. */
  starting?: ChildProcess;
  crashes: number[];
  /** Last lines the process wrote to stderr (and stdout), to say why it died. */
  lastWords: string[];
  restartTimer?: NodeJS.Timeout;
}

const LAST_WORDS = 12;

export class Supervisor {
  private readonly units: Running[] = [];
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {}

  /** Pids of the running units, by name. */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.units.map((r) => [r.unit.name, r.child?.pid]));
  }

  /** Starts a unit and supervises it from then on. Rejects if its first start fails. */
  async add(unit: Unit): Promise<void> {
    const running: Running = { unit, crashes: [], lastWords: [] };
    this.units.push(running);
    await this.launch(running);
  }

  private async launch(running: Running): Promise<void> {
    const child = running.unit.spawn();
    running.child = child;
    running.starting = child;
    this.watch(running, child);
    try {
      await running.unit.ready(child);
      running.starting = undefined;
      // It may have died between ready and now.
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('exited right after start');
    } catch (error) {
      running.starting = undefined;
      // Not serving: whatever is left of it goes, and the caller decides what the failure means.
      if (running.child === child) running.child = undefined;
      killGroup(child);
      const words = running.lastWords.length
        ? `\n${running.lastWords.map((l) => `    ${l}`).join('\n')}`
        : '';
      throw new Error(`${error instanceof Error ? error.message : String(error)}${words}`);
    }
    this.options.log(`${running.unit.name} is up (pid ${child.pid})`);
  }

  /** Keeps the last lines of output and restarts on an exit nobody asked for. */
  private watch(running: Running, child: ChildProcess): void {
    const keep = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
      if (running.unit.forwardOutput) to.write(chunk);
      const lines = chunk.toString('utf8').split('\n').filter(Boolean);
      running.lastWords.push(...lines);
      running.lastWords.splice(0, Math.max(0, running.lastWords.length - LAST_WORDS));
    };
    child.stderr?.on('data', keep(process.stderr));
    child.stdout?.on('data', keep(process.stdout));
    child.once('exit', (code, signal) => {
      if (running.child !== child) return;
      running.child = undefined;
      // Exited before it was ready: launch() reports that, not the crash handler.
      if (running.starting === child) return;
      if (this.stopping) return;
      this.crashed(running, signal ? `killed by ${signal}` : `exit code ${code}`);
    });
  }

  private crashed(running: Running, how: string): void {
    const { name } = running.unit;
    const now = Date.now();
    running.crashes = [...running.crashes.filter((t) => now - t < this.options.crashWindowMs), now];
    if (running.crashes.length > this.options.maxCrashes) {
      const seconds = Math.round(this.options.crashWindowMs / 1000);
      const words = running.lastWords.length
        ? `; its last output:\n${running.lastWords.map((l) => `    ${l}`).join('\n')}`
        : '';
      this.options.onGiveUp(
        name,
        `${name} crashed ${running.crashes.length} times within ${seconds} s (last: ${how})${words}`,
      );
      return;
    }
    const inARow = running.crashes.length;
    const delay = Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** (inARow - 1));
    this.options.log(
      `${name} exited unexpectedly (${how}); restarting in ${(delay / 1000).toFixed(1)} s (crash ${inARow} of at most ${this.options.maxCrashes} within ${Math.round(this.options.crashWindowMs / 1000)} s); the others keep serving`,
    );
    running.restartTimer = setTimeout(() => {
      running.restartTimer = undefined;
      if (this.stopping) return;
      const started = Date.now();
      this.launch(running).then(
        () => this.options.log(`${name} restarted in ${((Date.now() - started) / 1000).toFixed(1)} s`),
        (error: unknown) => {
          if (this.stopping) return;
          this.crashed(running, `did not start: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
    }, delay);
  }

  /** Stops every unit, last started first: SIGTERM, then SIGKILL past its grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const running of [...this.units].reverse()) {
      if (running.restartTimer) clearTimeout(running.restartTimer);
      const child = running.child;
      if (!child) continue;
      await stopChild(child, running.unit.stopGraceMs, (message) =>
        this.options.log(`${running.unit.name}: ${message}`),
      );
    }
  }

  /** Last resort when the supervisor itself is going away abruptly: signal everything at once. */
  killAll(signal: NodeJS.Signals): void {
    this.stopping = true;
    for (const running of this.units) {
      if (!running.child) continue;
      if (signal === 'SIGKILL') killGroup(running.child);
      else running.child.kill(signal);
    }
  }
}

/**
 * SIGKILL to the child's whole process group when it leads one (units spawned `detached`), else to
 * the child. A wrapper killed alone leaves what it started running: the embedded Postgres outlived
 * its wrapper, held its port and made the next `npm start` refuse to begin.
 */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Not a group leader (or already gone): the child alone.
    child.kill('SIGKILL');
  }
}

/** SIGTERM, wait for the exit; SIGKILL if it has not gone within `graceMs`. */
export async function stopChild(
  child: ChildProcess,
  graceMs: number,
  log: (m: string) => void,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`still running ${graceMs / 1000} s after SIGTERM; killing it`);
    killGroup(child);
  }, graceMs);
  await exited;
  clearTimeout(timer);
}
