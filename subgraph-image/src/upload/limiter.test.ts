import { Limiter } from './limiter';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Limiter', () => {
  it('never runs more than its limit at once, and runs everything in order', async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const gates: (() => void)[] = [];
    const task = (i: number) =>
      limiter.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
        return i;
      });
    const results = [0, 1, 2, 3, 4].map(task);
    await tick();
    expect(started).toEqual([0, 1]);
    // Each finished task hands its slot to the oldest waiter, even if a newcomer arrives right then.
    gates.shift()!();
    results.push(task(5));
    await tick();
    expect(started).toEqual([0, 1, 2]);
    while (started.length < 6 || gates.length > 0) {
      gates.shift()?.();
      await tick();
    }
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
  });
});

describe('Limiter fairness', () => {
  it("serves waiting users in turn, so one user's queue never holds up another's", async () => {
    const limiter = new Limiter(1);
    const started: string[] = [];
    const gates: (() => void)[] = [];
    const task = (name: string) =>
      limiter.run(
        async () => {
          started.push(name);
          await new Promise<void>((resolve) => gates.push(resolve));
        },
        { key: name[0] },
      );
    const all = ['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'b2'].map(task);
    await tick();
    while (started.length < 7 || gates.length > 0) {
      gates.shift()?.();
      await tick();
    }
    await Promise.all(all);
    // a1 was running: then the users not served yet (b, c), then whoever was served longest ago.
    expect(started).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('drops a waiter whose signal aborts, and never runs it', async () => {
    const limiter = new Limiter(1);
    let release!: () => void;
    const first = limiter.run(() => new Promise<void>((resolve) => (release = resolve)));
    const controller = new AbortController();
    let ran = false;
    const abandoned = limiter.run(
      async () => {
        ran = true;
      },
      { key: 'gone', signal: controller.signal },
    );
    await tick();
    expect(limiter.waiting).toBe(1);
    controller.abort(new Error('client went away'));
    await expect(abandoned).rejects.toThrow('client went away');
    expect(limiter.waiting).toBe(0);
    release();
    await first;
    await limiter.run(async () => {});
    expect(ran).toBe(false);
  });
});
