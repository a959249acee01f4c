import { createDb, isDatabaseReachable, type Knex } from '@imagehub/db';
import type { Logger } from '@imagehub/service-kit';
import pg from 'pg';
import { type Envelope, parseEnvelope } from './envelope';
import {
  type Consumer,
  type Destination,
  deadLetterQueue,
  type Handler,
  type QueueOptions,
  type Transport,
  topicMatches,
} from './transport';

/** One notification channel for every queue; the payload names the queue that has new work. */
const CHANNEL = 'imagehub_bus';

export interface PostgresTransportOptions {
  url: string;
  applicationName: string;
  logger?: Logger;
  /**
   * How often an idle queue is looked at anyway while this process LISTENs (default 15 s). New rows
   * NOTIFY, and a retry this process scheduled wakes it when it comes due, so this poll only finds
   * what nothing announced: a row a crashed consumer's session let go, a retry scheduled by a
   * process that died since. Those wait up to this long; one look a second at every queue of every
   * process cost more CPU at idle than anything else the bus did.
   */
  pollIntervalMs?: number;
  /**
   * How often an idle queue is looked at while the LISTEN connection is down (default 1 s, never
   * more than `pollIntervalMs`): notifications are lost then, so polling is the only way to learn
   * of new work, as often as before LISTEN carried it.
   */
  unlistenedPollIntervalMs?: number;
  /** How long a message whose handler threw waits before its next delivery. */
  retryDelayMs?: number;
  /** Messages handled at once in this process over all its queues: each holds a connection. */
  maxInFlight?: number;
}

/**
 * Queues as rows in the `bus` schema, for a machine without RabbitMQ. A consumer claims the oldest
 * visible row with `FOR UPDATE SKIP LOCKED` and keeps that transaction open while its handler runs:
 * if the process dies, Postgres ends the session and releases the row to another consumer at once
 * (RabbitMQ's redelivery when a consumer's connection drops). Deliveries are counted in a statement
 * of their own so that crashes count towards the dead-letter limit too. New rows `NOTIFY` the
 * consumers; polling covers missed notifications and releases by dead sessions.
 */
export class PostgresTransport implements Transport {
  readonly name = 'postgres' as const;
  private readonly db: Knex;
  /** Connections held by in-flight messages, apart from `db`, so a busy consumer can still count and publish. */
  private readonly claims: Knex;
  private readonly pollIntervalMs: number;
  private readonly unlistenedPollIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly wakers = new Map<string, Set<() => void>>();
  /**
   * How often each consumed queue was woken: a slot notes it before it looks for work and waits only
   * if it is unchanged, so a wake that comes while the slot is still looking (a notification, a
   * retry's timer) makes it look again instead of being lost until the next (rare) poll.
   */
  private readonly wakeCounts = new Map<string, number>();
  private readonly loops = new Set<QueueLoop>();
  private listener?: pg.Client;
  private listening?: Promise<void>;
  /** True while the LISTEN connection is up: notifications arrive, so idle queues are polled rarely. */
  private listenerUp = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: PostgresTransportOptions) {
    const log = options.logger && {
      warn: (msg: string) => options.logger?.warn(msg),
      error: (msg: string) => options.logger?.error(msg),
    };
    this.db = createDb({ url: options.url, applicationName: options.applicationName, poolMax: 4, log });
    this.claims = createDb({
      url: options.url,
      applicationName: `${options.applicationName}-consumer`,
      poolMax: options.maxInFlight ?? 8,
      log,
    });
    this.pollIntervalMs = options.pollIntervalMs ?? 15_000;
    this.unlistenedPollIntervalMs = Math.min(options.unlistenedPollIntervalMs ?? 1_000, this.pollIntervalMs);
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
  }

  async publish(destination: Destination, message: Envelope): Promise<void> {
    await this.db.transaction(async (trx) => {
      const queues = 'queue' in destination ? [destination.queue] : await this.boundQueues(trx, message.type);
      if (queues.length === 0) return;
      await trx('bus.messages').insert(queues.map((queue) => ({ queue, message })));
      // Delivered at commit, so a consumer never wakes before the row is visible.
      for (const queue of queues) await trx.raw('select pg_notify(?, ?)', [CHANNEL, queue]);
    });
  }

  async consume(options: QueueOptions, handler: Handler): Promise<Consumer> {
    const bindings = (options.events ?? []).map((pattern) => ({ queue: options.queue, pattern }));
    if (bindings.length > 0) await this.db('bus.bindings').insert(bindings).onConflict().ignore();
    await this.listen();
    const loops = [new QueueLoop(this, options.queue, handler, options.prefetch, options.maxAttempts)];
    this.wakeCounts.set(options.queue, this.wakeCounts.get(options.queue) ?? 0);
    if (options.onDeadLetter) {
      this.wakeCounts.set(
        deadLetterQueue(options.queue),
        this.wakeCounts.get(deadLetterQueue(options.queue)) ?? 0,
      );
      // What failed there is not retried forever either, but slowly and without a further queue.
      loops.push(new QueueLoop(this, deadLetterQueue(options.queue), options.onDeadLetter, 1, Infinity));
    }
    for (const loop of loops) {
      this.loops.add(loop);
      loop.start();
    }
    return {
      stop: async () => {
        await Promise.all(loops.map((loop) => loop.stop()));
        for (const loop of loops) this.loops.delete(loop);
      },
    };
  }

  async isReady(): Promise<boolean> {
    return !this.closed && (await isDatabaseReachable(this.db));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await Promise.all([...this.loops].map((loop) => loop.stop()));
    await this.listener?.end().catch(() => {});
    await Promise.all([this.db.destroy(), this.claims.destroy()]);
  }

  /**
   * Claims the oldest visible message of `queue` and handles it; false when there was none. The
   * message is deleted when the handler resolves, made visible again after a delay when it throws,
   * and moved to the dead-letter queue once delivered more than `maxAttempts` times. `onDue` is
   * called as soon as a message is seen to be due, before it is claimed and handled.
   */
  async handleOne(
    queue: string,
    handler: Handler,
    maxAttempts: number,
    onDue?: () => void,
  ): Promise<boolean> {
    // Nothing due is the usual answer of a poll: one plain read says so, before a claim connection
    // and its transaction (BEGIN, a locking select, COMMIT: three round trips) are spent on it.
    // A message arriving just after is found by its notification or the next poll, as before.
    const due = await this.db('bus.messages')
      .select('id')
      .where({ queue })
      .andWhere('visible_at', '<=', this.db.fn.now())
      .limit(1);
    if (due.length === 0) return false;
    onDue?.();
    const trx = await this.claims.transaction();
    try {
      const [row]: { id: string; message: unknown }[] = await trx('bus.messages')
        .select('id', 'message')
        .where({ queue })
        .andWhere('visible_at', '<=', trx.fn.now())
        .orderBy('id')
        .limit(1)
        .forUpdate()
        .skipLocked();
      if (!row) {
        await trx.commit();
        return false;
      }
      const [{ attempts }] = (
        await this.db.raw(
          `insert into bus.deliveries (message_id, attempts) values (?, 1)
         on conflict (message_id) do update set attempts = bus.deliveries.attempts + 1
         returning attempts`,
          [row.id],
        )
      ).rows as [{ attempts: number }];
      if (attempts > maxAttempts) {
        await trx('bus.messages')
          .where({ id: row.id })
          .update({ queue: deadLetterQueue(queue), visible_at: trx.fn.now() });
        await trx('bus.deliveries').where({ message_id: row.id }).delete();
        await trx.raw('select pg_notify(?, ?)', [CHANNEL, deadLetterQueue(queue)]);
        await trx.commit();
        this.options.logger?.warn(
          { queue, messageId: row.id, attempts: attempts - 1 },
          'message dead-lettered',
        );
        return true;
      }
      try {
        await handler(parseEnvelope(row.message));
      } catch (error) {
        this.options.logger?.warn(
          { err: error, queue, attempts },
          'handler failed; the message will be redelivered',
        );
        await trx('bus.messages')
          .where({ id: row.id })
          .update({ visible_at: trx.raw(`now() + ? * interval '1 millisecond'`, [this.retryDelayMs]) });
        await trx.commit();
        this.wakeWhenDue(queue);
        return true;
      }
      await trx('bus.messages').where({ id: row.id }).delete();
      await trx('bus.deliveries').where({ message_id: row.id }).delete();
      await trx.commit();
      return true;
    } catch (error) {
      if (!trx.isCompleted()) await trx.rollback().catch(() => {});
      throw error;
    }
  }

  /**
   * Resolves when `queue` may have work: a notification for it, `stop`, or (when `poll`) the poll
   * interval; resolves true when it was the poll interval. At once when the queue was woken since
   * `sinceWakes` (its `wakes` before the caller last looked).
   */
  waitForWork(
    queue: string,
    signal: { stopped: boolean },
    stopWaiters: Set<() => void>,
    poll: boolean,
    sinceWakes: number,
  ): Promise<boolean> {
    if (signal.stopped || this.wakes(queue) !== sinceWakes) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wakers = this.wakers.get(queue) ?? new Set();
      this.wakers.set(queue, wakers);
      const finish = (polled: boolean) => {
        clearTimeout(timer);
        wakers.delete(done);
        stopWaiters.delete(done);
        resolve(polled);
      };
      const done = () => finish(false);
      const timer = poll ? setTimeout(() => finish(true), this.currentPollIntervalMs) : undefined;
      wakers.add(done);
      stopWaiters.add(done);
    });
  }

  /** Wakes this process' idle consumers of `queue`, as a notification for it would. */
  wake(queue: string): void {
    const count = this.wakeCounts.get(queue);
    if (count !== undefined) this.wakeCounts.set(queue, count + 1);
    for (const wake of [...(this.wakers.get(queue) ?? [])]) wake();
  }

  /** How often `queue` was woken so far (see waitForWork). */
  wakes(queue: string): number {
    return this.wakeCounts.get(queue) ?? 0;
  }

  /** The poll interval for waits that start now: rare while LISTEN is up, frequent while it is down. */
  get currentPollIntervalMs(): number {
    return this.listenerUp ? this.pollIntervalMs : this.unlistenedPollIntervalMs;
  }

  /** Wakes every idle consumer of this process: they look once, then wait with the current interval. */
  private wakeAll(): void {
    for (const queue of [...this.wakers.keys()]) this.wake(queue);
  }

  /**
   * A message this process made invisible for `retryDelayMs` is announced by nothing when it comes
   * due: wakes this queue's consumers then, rather than at the next (rare) poll. `visible_at` was
   * set from the transaction's start, before this timer starts, so the row is visible when it fires.
   */
  private wakeWhenDue(queue: string): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.wake(queue);
    }, this.retryDelayMs);
    timer.unref();
    this.retryTimers.add(timer);
  }

  get retryDelay(): number {
    return this.retryDelayMs;
  }

  get logger(): Logger | undefined {
    return this.options.logger;
  }

  private async boundQueues(trx: Knex.Transaction, type: string): Promise<string[]> {
    const bindings: { queue: string; pattern: string }[] = await trx('bus.bindings').select(
      'queue',
      'pattern',
    );
    return [...new Set(bindings.filter((b) => topicMatches(b.pattern, type)).map((b) => b.queue))];
  }

  /** One LISTEN connection per process; if it drops, polling carries on until it is back. */
  private listen(): Promise<void> {
    this.listening ??= this.connectListener();
    return this.listening;
  }

  private async connectListener(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: `${this.options.applicationName}-listen`,
    });
    const reconnect = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.listening = undefined;
      const wasUp = this.listenerUp;
      this.listenerUp = false;
      // Waits begun while LISTEN was up would otherwise sleep out the rare interval, deaf to the
      // notifications they rely on: they look now and then poll at the frequent interval.
      if (wasUp) this.wakeAll();
      if (!this.closed && this.loops.size > 0) {
        setTimeout(() => void this.listen().catch(() => reconnect()), this.unlistenedPollIntervalMs).unref();
      }
    };
    client.on('error', reconnect);
    client.on('end', reconnect);
    client.on('notification', (notification) => this.wake(notification.payload ?? ''));
    this.listener = client;
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
      if (this.listener !== client) return;
      this.listenerUp = true;
      // What was published while no one listened was not announced: every queue looks once.
      this.wakeAll();
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'LISTEN failed; consumers poll until it works');
      reconnect();
    }
  }
}

/**
 * `prefetch` slots taking messages from one queue, each one message at a time. Notifications wake
 * every idle slot; only the first slot also polls, and wakes the others when its poll finds work:
 * eight slots polling on their own cost eight queries a second per queue while nothing happened
 * (an idle worker's largest cost, issue 17), for the same missed notifications and retries.
 */
class QueueLoop {
  private readonly signal = { stopped: false };
  private readonly stopWaiters = new Set<() => void>();
  private slots: Promise<void>[] = [];

  constructor(
    private readonly transport: PostgresTransport,
    private readonly queue: string,
    private readonly handler: Handler,
    private readonly prefetch: number,
    private readonly maxAttempts: number,
  ) {}

  start(): void {
    this.slots = Array.from({ length: this.prefetch }, (_, slot) => this.run(slot === 0));
  }

  async stop(): Promise<void> {
    this.signal.stopped = true;
    for (const wake of [...this.stopWaiters]) wake();
    await Promise.all(this.slots);
  }

  private async run(polls: boolean): Promise<void> {
    let polled = false;
    while (!this.signal.stopped) {
      let handled = false;
      // Work the poll found, which no notification announced (a retry come due, a row a dead
      // consumer let go, a notification lost while LISTEN was down): there may be more of it, for
      // the sleeping slots too, woken before this slot's handler runs.
      const wakeOthers = polled ? () => this.transport.wake(this.queue) : undefined;
      const wakes = this.transport.wakes(this.queue);
      try {
        handled = await this.transport.handleOne(this.queue, this.handler, this.maxAttempts, wakeOthers);
      } catch (error) {
        // The database is away or the pool is exhausted: wait, as for an empty queue, and try again.
        this.transport.logger?.warn({ err: error, queue: this.queue }, 'could not take a message');
      }
      polled = handled
        ? false
        : await this.transport.waitForWork(this.queue, this.signal, this.stopWaiters, polls, wakes);
    }
  }
}
