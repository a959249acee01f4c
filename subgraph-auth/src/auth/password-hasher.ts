import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { BoundedQueue } from './bounded-queue';

export interface PasswordHasherOptions {
  cost: number;
  concurrency: number;
  maxQueue: number;
  queueTimeoutMs: number;
}

/**
 * bcrypt through a bounded queue. bcrypt's async functions run on libuv's thread pool, so the event
 * loop stays free; the queue keeps a flood from occupying every thread and from waiting for seconds.
 * Callers must pass passwords of at most 72 bytes: bcrypt would silently ignore the rest.
 */
export class PasswordHasher {
  private readonly queue: BoundedQueue;
  private dummyHash = '';

  private constructor(private readonly options: PasswordHasherOptions) {
    this.queue = new BoundedQueue({
      concurrency: options.concurrency,
      maxQueue: options.maxQueue,
      maxWaitMs: options.queueTimeoutMs,
    });
  }

  /** Makes the dummy hash at start, so an unknown email pays the same bcrypt cost as a real one. */
  static async create(options: PasswordHasherOptions): Promise<PasswordHasher> {
    const hasher = new PasswordHasher(options);
    hasher.dummyHash = await hasher.queue.run(() =>
      bcrypt.hash(randomBytes(32).toString('base64url'), options.cost),
    );
    return hasher;
  }

  hash(password: string): Promise<string> {
    return this.queue.run(() => bcrypt.hash(password, this.options.cost));
  }

  /** `hash` undefined (no such account) still costs one full comparison, against the dummy hash. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const matches = await this.queue.run(() => bcrypt.compare(password, hash ?? this.dummyHash));
    return matches && hash !== undefined;
  }
}
