import { type ChildProcess, spawn } from 'node:child_process';
import { Supervisor, type Unit } from './supervisor';

/** A real process: `script` is Node code; "ready" once it prints READY. */
function nodeUnit(name: string, script: string, events: string[]): Unit {
  return {
    name,
    stopGraceMs: 2_000,
    forwardOutput: false,
    spawn: () => spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }),
    ready: (child: ChildProcess) =>
      new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('READY')) {
            events.push(`${name} ready`);
            resolve();
          }
        });
        child.once('exit', () => reject(new Error(`${name} exited before it was ready`)));
      }),
  };
}

// The handler first: a signal may arrive the moment READY is out.
const SERVE = `process.on('SIGTERM', () => process.exit(0)); process.stdout.write('READY\\n'); setInterval(() => {}, 1000);`;

function supervisor(events: string[], overrides: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}) {
  const created = new Supervisor({
    log: (message) => events.push(message),
    initialBackoffMs: 100,
    maxBackoffMs: 1_000,
    maxCrashes: 3,
    crashWindowMs: 60_000,
    onGiveUp: (unit, why) => events.push(`GAVE UP ${unit}: ${why}`),
    ...overrides,
  });
  started.push(created);
  return created;
}

const until = async (what: string, check: () => boolean, ms = 10_000) => {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const started: Supervisor[] = [];
afterEach(async () => {
  // A failed expectation must not leave processes (and jest) running.
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

describe('Supervisor', () => {
  it('restarts a killed unit with a doubling backoff, leaving the others alone', async () => {
    const events: string[] = [];
    const s = supervisor(events);
    await s.add(nodeUnit('steady', SERVE, events));
    await s.add(nodeUnit('flaky', SERVE, events));
    const steady = s.pids().steady;
    for (let crash = 0; crash < 2; crash++) {
      const pid = s.pids().flaky!;
      process.kill(pid, 'SIGKILL');
      await until(
        'flaky up again',
        () => events.filter((e) => e.startsWith('flaky is up')).length === crash + 2,
      );
    }
    const delays = events
      .filter((e) => e.startsWith('flaky exited unexpectedly'))
      .map((e) => /restarting in ([\d.]+) s/.exec(e)![1]);
    // 100 ms, then 200 ms: doubling per crash in a row.
    expect(delays).toEqual(['0.1', '0.2']);
    expect(events).toContain(
      'flaky exited unexpectedly (killed by SIGKILL); restarting in 0.2 s (crash 2 of at most 3 within 60 s); the others keep serving',
    );
    expect(s.pids().steady).toBe(steady);
    await s.stop();
  });

  it('gives up on a crash loop, saying how it ended and what it said last', async () => {
    const events: string[] = [];
    const s = supervisor(events, { maxCrashes: 2 });
    // Ready, then dies a moment later, every time.
    await s.add(
      nodeUnit(
        'crashy',
        `process.stdout.write('READY\\n'); setTimeout(() => { console.error('out of memory, pretend'); process.exit(3); }, 100);`,
        events,
      ),
    );
    await until('given up', () => events.some((e) => e.startsWith('GAVE UP')));
    const gaveUp = events.find((e) => e.startsWith('GAVE UP'))!;
    expect(gaveUp).toMatch(/^GAVE UP crashy: crashy crashed 3 times within 60 s \(last: exit code 3\)/);
    expect(gaveUp).toMatch(/out of memory, pretend/);
    const delays = events
      .filter((e) => e.startsWith('crashy exited'))
      .map((e) => /restarting in ([\d.]+) s/.exec(e)![1]);
    expect(delays).toEqual(['0.1', '0.2']);
    await s.stop();
  });

  it('stops the units last-started first, each with SIGTERM', async () => {
    const events: string[] = [];
    const s = supervisor(events);
    const order: string[] = [];
    for (const name of ['database', 'api', 'front']) {
      const unit = nodeUnit(name, SERVE, events);
      const spawnIt = unit.spawn;
      unit.spawn = () => {
        const child = spawnIt();
        child.once('exit', (_code, signal) => order.push(`${name} ${signal ?? 'exit'}`));
        return child;
      };
      await s.add(unit);
    }
    await s.stop();
    expect(order).toEqual(['front exit', 'api exit', 'database exit']);
  });

  // As the embedded Postgres's wrapper does: the unit leads a process group and starts a process of
  // its own in it, which a SIGKILL of the unit alone would leave running (holding its port).
  const WRAPPER = `
    const { spawn } = require('node:child_process');
    const inner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    process.on('SIGTERM', () => {}); // deaf to SIGTERM: only a kill ends it
    process.stdout.write('READY ' + inner.pid + '\\n');
    setInterval(() => {}, 1000);`;
  function wrapperUnit(events: string[], inner: number[]): Unit {
    const unit = nodeUnit('wrapper', WRAPPER, events);
    unit.stopGraceMs = 300;
    unit.spawn = () => {
      const child = spawn(process.execPath, ['-e', WRAPPER], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        const match = /READY (\d+)/.exec(chunk.toString());
        if (match) inner.push(Number(match[1]));
      });
      return child;
    };
    return unit;
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('kills a unit with everything in its process group, when killing everything at once', async () => {
    const events: string[] = [];
    const s = supervisor(events);
    const inner: number[] = [];
    await s.add(wrapperUnit(events, inner));
    const wrapper = s.pids().wrapper!;
    expect(alive(inner[0]!)).toBe(true);
    s.killAll('SIGKILL');
    await until('wrapper and what it started gone', () => !alive(wrapper) && !alive(inner[0]!));
  });

  it('kills a unit with everything in its process group, when it outlasts its grace period', async () => {
    const events: string[] = [];
    const s = supervisor(events);
    const inner: number[] = [];
    await s.add(wrapperUnit(events, inner));
    const wrapper = s.pids().wrapper!;
    await s.stop();
    expect(events).toContain('wrapper: still running 0.3 s after SIGTERM; killing it');
    await until('wrapper and what it started gone', () => !alive(wrapper) && !alive(inner[0]!));
  });
});
