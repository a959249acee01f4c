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
