import { BoundedQueue, QueueSaturatedError } from './bounded-queue';

/** A task that runs until the test lets it finish. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, task: () => opened };
}

describe('BoundedQueue', () => {
  it('never runs more than `concurrency` tasks at once, and runs the queued ones in order', async () => {
    const queue = new BoundedQueue({ concurrency: 2, maxQueue: 10, maxWaitMs: 60_000, initialTaskMs: 1 });
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates = Array.from({ length: 5 }, gate);
    const runs = gates.map((g, i) =>
      queue.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await g.task();
        running--;
      }),
    );
    expect(queue.stats).toMatchObject({ active: 2, waiting: 3 });
    for (const g of gates) g.open();
    await Promise.all(runs);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(queue.stats).toMatchObject({ active: 0, waiting: 0 });
  });

  it('turns a task away at once when the queue is full', async () => {
    const queue = new BoundedQueue({ concurrency: 1, maxQueue: 1, maxWaitMs: 60_000, initialTaskMs: 1 });
    const busy = gate();
    const first = queue.run(busy.task);
    const second = queue.run(async () => 'second');
    await expect(queue.run(async () => 'third')).rejects.toBeInstanceOf(QueueSaturatedError);
    busy.open();
    await first;
    await expect(second).resolves.toBe('second');
  });

  it('turns a task away at once when its expected wait exceeds the bound', async () => {
    const queue = new BoundedQueue({ concurrency: 1, maxQueue: 100, maxWaitMs: 1_000, initialTaskMs: 600 });
    const busy = gate();
    const first = queue.run(busy.task);
    // Position 1 expects 600 ms of waiting (allowed), position 2 expects 1200 ms (refused).
    const second = queue.run(async () => 'second');
    const refused = await queue.run(async () => 'third').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QueueSaturatedError);
    expect((refused as QueueSaturatedError).retryAfterSec).toBe(2);
    busy.open();
    await first;
    await expect(second).resolves.toBe('second');
  });

  it('gives up on a task that waited longer than the bound, and frees its place', async () => {
    const queue = new BoundedQueue({ concurrency: 1, maxQueue: 10, maxWaitMs: 20, initialTaskMs: 1 });
    const busy = gate();
    const first = queue.run(busy.task);
    const waited = await queue.run(async () => 'never').catch((error: unknown) => error);
    expect(waited).toBeInstanceOf(QueueSaturatedError);
    expect((waited as QueueSaturatedError).retryAfterSec).toBeGreaterThanOrEqual(1);
    expect(queue.stats.waiting).toBe(0);
    busy.open();
    await first;
    await expect(queue.run(async () => 'after')).resolves.toBe('after');
  });

  it('releases the slot when a task fails', async () => {
    const queue = new BoundedQueue({ concurrency: 1, maxQueue: 0, maxWaitMs: 1000 });
    await expect(queue.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(queue.run(async () => 'next')).resolves.toBe('next');
  });
});
