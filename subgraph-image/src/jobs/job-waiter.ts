import type { Logger } from '@imagehub/service-kit';
import pg from 'pg';
import { JOB_CHANNEL, type JobOutcome, type UploadJobs } from './upload-jobs';

export interface JobWaiterOptions {
  databaseUrl: string;
  applicationName: string;
  logger?: Logger;
  /** How often a waiter reads its job anyway: the backstop for a missed notification. */
  pollIntervalMs?: number;
}

/** Why a wait ended without an outcome. */
export class JobDeadlineError extends Error {
  override name = 'JobDeadlineError';
}

/**
 * How a waiting mutation learns its job's outcome: workers `NOTIFY` on JOB_CHANNEL when they commit
 * one, this process `LISTEN`s on one connection and wakes the waiter of that job; a waiter also
 * reads its job every `pollIntervalMs`, so a notification lost to a dropped connection only costs
 * time. At the deadline, or when the client goes away, the job is cancelled: nothing is stored for
 * it after that, and the quarantined original is gone.
 */
export class JobWaiter {
  private readonly pollIntervalMs: number;
  private readonly wakers = new Map<string, Set<() => void>>();
  private listener?: pg.Client;
  private listening?: Promise<void>;
  private closed = false;

  constructor(
    private readonly jobs: UploadJobs,
    private readonly options: JobWaiterOptions,
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
  }

  /** Jobs being waited for now. */
  get waiting(): number {
    return this.wakers.size;
  }

  /**
   * Resolves with the job's final outcome (stored or failed). Rejects with JobDeadlineError when it
   * was cancelled at `deadline` (ms since the epoch), with the signal's reason when it was cancelled
   * because the client went away.
   */
  async wait(id: string, deadline: number, signal: AbortSignal): Promise<JobOutcome> {
    void this.listen();
    const wakers = new Set<() => void>();
    this.wakers.set(id, wakers);
    try {
      for (;;) {
        const outcome = await this.jobs.outcome(id);
        // Swept (its deadline long past): nothing was or will be stored for it.
        if (!outcome) throw new JobDeadlineError(`upload job ${id} is gone`);
        if (outcome.status !== 'pending') return outcome;
        if (signal.aborted || Date.now() >= deadline) {
          if (await this.jobs.cancel(id)) {
            if (signal.aborted) throw signal.reason;
            throw new JobDeadlineError(`no worker finished upload job ${id} in time`);
          }
          // A worker finished it just before the cancel: that outcome stands.
          continue;
        }
        await this.nextLook(wakers, deadline, signal);
      }
    } finally {
      this.wakers.delete(id);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => {});
  }

  /** Until a notification for this job, the poll interval, the deadline or the client going away. */
  private nextLook(wakers: Set<() => void>, deadline: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(this.pollIntervalMs, deadline - Date.now())));
      wakers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** One LISTEN connection per process, opened on first use; polling carries on while it is down. */
  private listen(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.listening ??= this.connect();
    return this.listening;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: `${this.options.applicationName}-listen`,
    });
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      // The next wait opens a new one.
      this.listening = undefined;
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (notification) => {
      for (const wake of [...(this.wakers.get(notification.payload ?? '') ?? [])]) wake();
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`listen ${JOB_CHANNEL}`);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'LISTEN for upload jobs failed; waiters poll');
      lost();
      await client.end().catch(() => {});
    }
  }
}
