import type { Logger } from '@imagehub/service-kit';
import pg from 'pg';
import {
  JOB_CHANNEL,
  type JobNotification,
  type JobOutcome,
  outcomeOf,
  type UploadJobs,
} from './upload-jobs';

export interface JobWaiterOptions {
  databaseUrl: string;
  applicationName: string;
  logger?: Logger;
  /** How often a waiter reads its job anyway: the backstop for a missed notification. */
  pollIntervalMs?: number;
  /** How long a job may be stored without its waiter renewing it (JOB_LEASE_MS by default). */
  leaseMs?: number;
}

/**
 * A job is stored only while its waiter is known to be there: each look renews its lease (the
 * `deadline` a worker checks in its commit). So a waiter that cannot reach the database, or whose
 * process died, has nothing stored for it once the lease ran out; and it answers its client only
 * after that. Several poll intervals long, so a busy process does not lose leases it renews late.
 */
export const JOB_LEASE_MS = 5_000;

/** A database that cannot be reached (rather than an answer from it), per node-postgres and knex. */
function isUnreachable(error: unknown): boolean {
  const { code, name, message } = error as { code?: string; name?: string; message?: string };
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|57P0[1-3]|08\d\d\d)$/.test(code))
    return true;
  return (
    name === 'KnexTimeoutError' || /Connection terminated|connect ECONNREFUSED|timeout/i.test(message ?? '')
  );
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
  readonly leaseMs: number;
  private readonly wakers = new Map<string, Set<() => void>>();
  /** Outcomes that arrived with a notification, for the jobs waited for here. */
  private readonly notified = new Map<string, JobOutcome>();
  private listener?: pg.Client;
  private listening?: Promise<void>;
  private closed = false;

  constructor(
    private readonly jobs: UploadJobs,
    private readonly options: JobWaiterOptions,
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.leaseMs = options.leaseMs ?? JOB_LEASE_MS;
  }

  /** Jobs being waited for now. */
  get waiting(): number {
    return this.wakers.size;
  }

  /**
   * Resolves with the job's final outcome (stored or failed). Rejects with JobDeadlineError when it
   * was cancelled at `deadline` (ms since the epoch) or its lease ran out, with the signal's reason
   * when it was cancelled because the client went away. `leasedUntil`: when the lease `enqueue`
   * gave it runs out, by this process' clock (taken before the enqueue). While the database cannot
   * be reached, it keeps trying, and gives up (with the database's error) only once the lease has run
   * out: the client is then never told "failed" about a job that is stored afterwards.
   */
  async wait(id: string, deadline: number, leasedUntil: number, signal: AbortSignal): Promise<JobOutcome> {
    void this.listen();
    const wakers = new Set<() => void>();
    this.wakers.set(id, wakers);
    let lease = leasedUntil;
    try {
      for (;;) {
        try {
          const outcome = await this.look(id, deadline, signal, (renewedAt) => {
            lease = renewedAt + this.leaseMs;
          });
          if (outcome) return outcome;
        } catch (error) {
          if (!isUnreachable(error) || Date.now() >= lease) throw error;
        }
        await this.nextLook(wakers, deadline, signal);
      }
    } finally {
      this.wakers.delete(id);
      this.notified.delete(id);
    }
  }

  /** One look at the job: its outcome if it has one, undefined while it is pending; cancels it when due. */
  private async look(
    id: string,
    deadline: number,
    signal: AbortSignal,
    renewed: (at: number) => void,
  ): Promise<JobOutcome | undefined> {
    const told = this.notified.get(id);
    if (told && told.status !== 'cancelled') return told;
    const at = Date.now();
    await this.jobs.renew(id, this.leaseMs);
    renewed(at);
    const outcome = await this.jobs.outcome(id);
    // Swept, or cancelled by a worker because its lease ran out: nothing was or will be stored for it.
    if (!outcome || outcome.status === 'cancelled')
      throw new JobDeadlineError(`upload job ${id} ended unfinished`);
    if (outcome.status !== 'pending') return outcome;
    if (!signal.aborted && Date.now() < deadline) return undefined;
    if (await this.jobs.cancel(id)) {
      if (signal.aborted) throw signal.reason;
      throw new JobDeadlineError(`no worker finished upload job ${id} in time`);
    }
    // A worker finished it just before the cancel: that outcome stands.
    return this.look(id, deadline, signal, renewed);
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
      let told: JobNotification;
      try {
        told = JSON.parse(notification.payload ?? '') as JobNotification;
      } catch {
        return;
      }
      const wakers = this.wakers.get(told.id);
      if (!wakers) return;
      this.notified.set(told.id, outcomeOf(told));
      for (const wake of [...wakers]) wake();
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
