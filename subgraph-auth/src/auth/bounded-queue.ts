/** Raised instead of queueing when the wait would be too long; `retryAfterSec` is a hint for the client. */
export class QueueSaturatedError extends Error {
  override name = 'QueueSaturatedError';
  constructor(readonly retryAfterSec: number) {
    super('Too busy, try again shortly');
  }
}

export interface BoundedQueueOptions {
  /** Tasks running at once (bcrypt: about one per core, each holds a libuv thread). */
  concurrency: number;
  /** Tasks waiting at most; beyond that callers are turned away at once. */
  maxQueue: number;
  /** Longest a task may wait for a slot. */
  maxWaitMs: number;
  /** Expected duration of one task before any has been measured. */
  initialTaskMs?: number;
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

/**
 * A semaphore with load shedding: runs at most `concurrency` tasks, queues a few, and rejects a
 * task up front when its expected wait (queue position x measured task time) exceeds `maxWaitMs`,
 * or after `maxWaitMs` if it is still waiting. A flood of logins thus gets quick refusals instead
 * of multi-second waits, and the event loop and thread pool stay free for other requests.
 * (p-limit and p-queue have no admission bound and are ESM-only in their current majors.)
 */
export class BoundedQueue {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  private averageTaskMs: number;

  constructor(private readonly options: BoundedQueueOptions) {
    if (options.concurrency < 1) throw new Error('concurrency must be at least 1');
    this.averageTaskMs = options.initialTaskMs ?? 100;
  }

  get stats() {
    return { active: this.active, waiting: this.waiting.length, averageTaskMs: this.averageTaskMs };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    const started = performance.now();
    try {
      return await task();
    } finally {
      // A moving average follows the machine's real speed (and bcrypt cost) without configuration.
      this.averageTaskMs = 0.8 * this.averageTaskMs + 0.2 * (performance.now() - started);
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    const { concurrency, maxQueue, maxWaitMs } = this.options;
    const position = this.waiting.length + 1;
    const expectedWaitMs = Math.ceil(position / concurrency) * this.averageTaskMs;
    if (this.waiting.length >= maxQueue || expectedWaitMs > maxWaitMs) {
      return Promise.reject(new QueueSaturatedError(this.retryAfterSec(expectedWaitMs)));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(new QueueSaturatedError(this.retryAfterSec(maxWaitMs)));
        }, maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter, so `active` stays counted.
    if (next) next.start();
    else this.active--;
  }

  private retryAfterSec(waitMs: number): number {
    return Math.max(1, Math.ceil(waitMs / 1000));
  }
}
