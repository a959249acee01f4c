interface Waiter {
  start: () => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Beyond this many remembered keys, those with nothing waiting are forgotten. */
const MAX_REMEMBERED_KEYS = 10_000;

/**
 * Runs at most `max` tasks at once. Each image decode can hold a full decoded frame, so this is
 * what bounds the process' memory. Waiting tasks are queued per key (the user), and a freed slot
 * goes to the waiting key that was served least recently (never served first; ties in order of
 * arrival), so one user's queued uploads never hold up another's: a user with one upload waits
 * for at most one task of each other user. A waiter whose signal aborts (the client went away)
 * leaves the queue and never runs.
 */
export class Limiter {
  private active = 0;
  private readonly queues = new Map<string, Waiter[]>();
  private readonly lastServed = new Map<string, number>();
  private served = 0;

  constructor(private readonly max: number) {}

  /** Tasks waiting for a slot, all keys together. */
  get waiting(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.length;
    return count;
  }

  /** Tasks running now. */
  get running(): number {
    return this.active;
  }

  async run<T>(task: () => Promise<T>, options: { key?: string; signal?: AbortSignal } = {}): Promise<T> {
    const { key = '', signal } = options;
    signal?.throwIfAborted();
    if (this.active < this.max) this.active++;
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    else await this.wait(key, signal);
    this.markServed(key);
    try {
      return await task();
    } finally {
      const next = this.next();
      if (next) next.start();
      else this.active--;
    }
  }

  private wait(key: string, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { start: resolve, signal };
      if (signal) {
        waiter.onAbort = () => {
          const queue = this.queues.get(key);
          const index = queue?.indexOf(waiter) ?? -1;
          if (queue && index >= 0) {
            queue.splice(index, 1);
            if (queue.length === 0) this.queues.delete(key);
          }
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      const queue = this.queues.get(key);
      if (queue) queue.push(waiter);
      else this.queues.set(key, [waiter]);
    });
  }

  private markServed(key: string): void {
    this.lastServed.set(key, ++this.served);
    if (this.lastServed.size > MAX_REMEMBERED_KEYS) {
      for (const known of this.lastServed.keys()) if (!this.queues.has(known)) this.lastServed.delete(known);
    }
  }

  /** The oldest waiter of the waiting key served least recently. */
  private next(): Waiter | undefined {
    let chosen: string | undefined;
    let chosenServed = Number.POSITIVE_INFINITY;
    // Map iteration is in order of arrival, so the first of equals is the one waiting longest.
    for (const key of this.queues.keys()) {
      const served = this.lastServed.get(key) ?? 0;
      if (served < chosenServed) {
        chosen = key;
        chosenServed = served;
      }
    }
    if (chosen === undefined) return undefined;
    const queue = this.queues.get(chosen)!;
    const waiter = queue.shift()!;
    if (queue.length === 0) this.queues.delete(chosen);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    return waiter;
  }
}
