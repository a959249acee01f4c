import type { Knex } from '@imagehub/db';
import type { Logger } from '@imagehub/service-kit';
import type { Envelope } from './envelope';
import type { Destination, Transport } from './transport';

export interface OutboxEntry {
  destination: Destination;
  message: Envelope;
}

/**
 * Writes messages into a service's outbox table (`schema.outbox`) inside the caller's transaction,
 * so they exist exactly when the data they are about was committed.
 */
export async function addToOutbox(
  trx: Knex.Transaction,
  table: string,
  entries: OutboxEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await trx(table).insert(
    entries.map(({ destination, message }) => ({
      queue: 'queue' in destination ? destination.queue : null,
      message,
    })),
  );
}

export interface OutboxRelayOptions {
  db: Knex;
  table: string;
  transport: Transport;
  logger?: Logger;
  /**
   * How often a healthy relay looks anyway (default 15 s). Every writer wakes its own process' relay
   * after its commit, so this poll only finds rows whose writer died between its commit and its
   * publish; they wait up to this long. One look a second in every process was most of an idle
   * relay's CPU (and a query a second on the database) for that crash case alone.
   */
  pollIntervalMs?: number;
  /**
   * How often a relay whose last pass failed tries again (default 1 s, never more than
   * `pollIntervalMs`): the broker or database is away, and what is waiting goes out soon after it
   * is back.
   */
  retryIntervalMs?: number;
  batchSize?: number;
}

/**
 * Publishes a service's outbox: takes the oldest rows (`FOR UPDATE SKIP LOCKED`, so relays in several
 * processes share the work without publishing a row twice at once), publishes them, and deletes them
 * in the same transaction once the transport confirmed every one. A failure rolls back: the rows stay
 * and go again later, so a message may be published twice but never lost; consumers are idempotent.
 */
export class OutboxRelay {
  private readonly pollIntervalMs: number;
  private readonly retryIntervalMs: number;
  private readonly batchSize: number;
  private running?: Promise<void>;
  private stopped = false;
  private wakeUp?: () => void;
  private failing = false;
  private woken = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 15_000;
    this.retryIntervalMs = Math.min(options.retryIntervalMs ?? 1_000, this.pollIntervalMs);
    this.batchSize = options.batchSize ?? 100;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Call after committing a transaction that wrote to the outbox: publishes without waiting for the poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
  }

  /** Publishes everything in the outbox now; resolves with how many messages went out. */
  async flush(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.publishBatch();
      total += published;
      if (published < this.batchSize) return total;
    }
  }

  private async publishBatch(): Promise<number> {
    const { db, table, transport } = this.options;
    // Empty is the usual answer, every poll interval, in every replica: one plain read says so
    // instead of BEGIN, a locking select and COMMIT (each a round trip and a socket write per side).
    if ((await db(table).select('id').limit(1)).length === 0) return 0;
    return db.transaction(async (trx) => {
      const rows: { id: string; queue: string | null; message: Envelope }[] = await trx(table)
        .select('id', 'queue', 'message')
        .orderBy('id')
        .limit(this.batchSize)
        .forUpdate()
        .skipLocked();
      if (rows.length === 0) return 0;
      await Promise.all(
        rows.map((row) =>
          transport.publish(row.queue === null ? { event: true } : { queue: row.queue }, row.message),
        ),
      );
      await trx(table)
        .whereIn(
          'id',
          rows.map((row) => row.id),
        )
        .delete();
      return rows.length;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.woken = false;
      try {
        await this.flush();
        if (this.failing)
          this.options.logger?.info({ table: this.options.table }, 'outbox relay publishing again');
        this.failing = false;
      } catch (error) {
        // Logged once per outage, not once per poll.
        if (!this.failing) {
          this.options.logger?.warn(
            { err: error, table: this.options.table },
            'outbox relay cannot publish; retrying',
          );
        }
        this.failing = true;
      }
      await this.sleep();
    }
  }

  /**
   * Until the poll interval passes (the retry interval after a failed pass) or `wake` is called
   * (also while the last pass was running).
   */
  private sleep(): Promise<void> {
    if (this.stopped || (this.woken && !this.failing)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.failing ? this.retryIntervalMs : this.pollIntervalMs);
      this.wakeUp = done;
    });
  }
}
