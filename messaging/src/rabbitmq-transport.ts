import type { Logger } from '@imagehub/service-kit';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { type Envelope, parseEnvelope } from './envelope';
import {
  type Consumer,
  type Destination,
  deadLetterQueue,
  type Handler,
  type QueueOptions,
  type Transport,
} from './transport';

export interface RabbitMqTransportOptions {
  url: string;
  /** Prefix of every exchange and queue, so several deployments (or test runs) can share a broker. */
  namespace?: string;
  logger?: Logger;
  /** Wait between reconnection attempts after the broker went away. */
  reconnectDelayMs?: number;
  /** A publish not confirmed within this time fails (the outbox relay retries it). */
  publishTimeoutMs?: number;
}

/**
 * RabbitMQ through amqplib. Jobs go to a direct exchange with `mandatory`, so a job for a queue no
 * consumer has declared yet comes back as a failure instead of vanishing; events go to a topic
 * exchange by their type. Publishes wait for the broker's confirm. Queues are quorum queues: durable,
 * replicated where there are several nodes, and with a delivery limit that counts crashed consumers
 * too, after which the broker moves the message to the queue's dead-letter queue. Consumers ack
 * after their handler resolved (after its commit). When the connection drops, publishes fail fast
 * and the transport reconnects and resumes its consumers on its own.
 */
export class RabbitMqTransport implements Transport {
  readonly name = 'rabbitmq' as const;
  private readonly ns: string;
  private readonly reconnectDelayMs: number;
  private readonly publishTimeoutMs: number;
  private connection?: ChannelModel;
  private publisher?: ConfirmChannel;
  private connecting?: Promise<ChannelModel>;
  private reconnectTimer?: NodeJS.Timeout;
  private readonly returned = new Set<string>();
  private readonly consumers = new Set<RabbitConsumer>();
  private closed = false;

  constructor(private readonly options: RabbitMqTransportOptions) {
    this.ns = options.namespace ?? 'imagehub';
    this.reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
  }

  get exchanges() {
    return { jobs: `${this.ns}.jobs`, events: `${this.ns}.events`, deadLetter: `${this.ns}.dead-letter` };
  }

  /** The broker's name for one of our queues. */
  queueName(queue: string): string {
    return `${this.ns}.${queue}`;
  }

  async publish(destination: Destination, message: Envelope): Promise<void> {
    await this.connect();
    const channel = this.publisher;
    if (!channel) throw new Error('RabbitMQ connection lost');
    const job = 'queue' in destination;
    const exchange = job ? this.exchanges.jobs : this.exchanges.events;
    const routingKey = job ? this.queueName(destination.queue) : message.type;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`RabbitMQ did not confirm within ${this.publishTimeoutMs} ms`)),
        this.publishTimeoutMs,
      );
      channel.publish(
        exchange,
        routingKey,
        Buffer.from(JSON.stringify(message)),
        {
          persistent: true,
          mandatory: job,
          messageId: message.id,
          type: message.type,
          timestamp: Math.floor(Date.parse(message.time) / 1000),
          contentType: 'application/json',
        },
        (error) => {
          clearTimeout(timer);
          // A returned message arrives before its confirm: the broker took it but had no queue for it.
          if (this.returned.delete(message.id)) reject(new Error(`no queue takes jobs for ${routingKey}`));
          else if (error) reject(error instanceof Error ? error : new Error(String(error)));
          else resolve();
        },
      );
    });
  }

  async consume(options: QueueOptions, handler: Handler): Promise<Consumer> {
    const consumer = new RabbitConsumer(this, options, handler);
    this.consumers.add(consumer);
    try {
      await consumer.attach(await this.connect());
    } catch (error) {
      // Declaring failed (the broker is away): it is retried on the next connection.
      if (!this.connection) {
        this.options.logger?.warn({ err: error }, 'RabbitMQ unreachable; consuming once it is back');
        this.scheduleReconnect();
      } else {
        this.consumers.delete(consumer);
        throw error;
      }
    }
    return {
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.detach();
      },
    };
  }

  async isReady(): Promise<boolean> {
    if (this.closed) return false;
    if (this.connection && this.publisher) return true;
    return this.connect().then(
      () => true,
      () => false,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    await Promise.all([...this.consumers].map((consumer) => consumer.detach()));
    this.consumers.clear();
    await this.connecting?.catch(() => {});
    await this.connection?.close().catch(() => {});
    this.connection = undefined;
  }

  get logger(): Logger | undefined {
    return this.options.logger;
  }

  private connect(): Promise<ChannelModel> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    if (this.connection && this.publisher) return Promise.resolve(this.connection);
    this.connecting ??= this.openConnection().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openConnection(): Promise<ChannelModel> {
    const connection = await amqp.connect(this.options.url, { timeout: 5_000 });
    connection.on('error', () => {}); // 'close' follows and handles it
    connection.on('close', () => {
      if (this.connection === connection) {
        this.connection = undefined;
        this.publisher = undefined;
      }
      if (!this.closed) {
        this.options.logger?.warn('RabbitMQ connection closed; reconnecting');
        this.scheduleReconnect();
      }
    });
    try {
      const publisher = await connection.createConfirmChannel();
      publisher.on('error', () => {});
      publisher.on('return', (message: { properties: { messageId?: string } }) => {
        if (message.properties.messageId) this.returned.add(message.properties.messageId);
      });
      await publisher.assertExchange(this.exchanges.jobs, 'direct', { durable: true });
      await publisher.assertExchange(this.exchanges.events, 'topic', { durable: true });
      await publisher.assertExchange(this.exchanges.deadLetter, 'direct', { durable: true });
      this.connection = connection;
      this.publisher = publisher;
      for (const consumer of this.consumers) await consumer.attach(connection);
      return connection;
    } catch (error) {
      await connection.close().catch(() => {});
      throw error;
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch(() => this.scheduleReconnect());
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }
}

/** RabbitMQ 4's default for quorum queues; maxAttempts must stay below it. */
const DELIVERY_LIMIT_BACKSTOP = 20;

/** One queue's consumer (and its dead-letter queue's, when asked), re-attached after reconnects. */
class RabbitConsumer {
  private subscriptions: { channel: Channel; tag: string }[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly transport: RabbitMqTransport,
    private readonly options: QueueOptions,
    private readonly handler: Handler,
  ) {}

  async attach(connection: ChannelModel): Promise<void> {
    const { jobs, events, deadLetter } = this.transport.exchanges;
    const queue = this.transport.queueName(this.options.queue);
    const dead = this.transport.queueName(deadLetterQueue(this.options.queue));
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await channel.prefetch(this.options.prefetch);
    await channel.assertQueue(dead, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(dead, deadLetter, dead);
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        // Only a backstop: the consumer dead-letters at maxAttempts itself (see previousDeliveries), but
        // RabbitMQ 3.x only counts deliveries (x-delivery-count) on queues that have a limit. Fixed, not
        // derived from maxAttempts: a queue's arguments cannot change once it exists.
        'x-delivery-limit': DELIVERY_LIMIT_BACKSTOP,
        // Rejected messages (nack without requeue) go to the dead-letter queue.
        'x-dead-letter-exchange': deadLetter,
        'x-dead-letter-routing-key': dead,
      },
    });
    await channel.bindQueue(queue, jobs, queue);
    for (const pattern of this.options.events ?? []) await channel.bindQueue(queue, events, pattern);
    const { consumerTag } = await channel.consume(queue, (message) =>
      this.deliver(channel, message, this.handler, this.options.maxAttempts),
    );
    this.subscriptions = [{ channel, tag: consumerTag }];
    const onDeadLetter = this.options.onDeadLetter;
    if (onDeadLetter) {
      const deadChannel = await connection.createChannel();
      deadChannel.on('error', () => {});
      await deadChannel.prefetch(1);
      const reply = await deadChannel.consume(dead, (message) =>
        this.deliver(deadChannel, message, onDeadLetter),
      );
      this.subscriptions.push({ channel: deadChannel, tag: reply.consumerTag });
    }
  }

  async detach(): Promise<void> {
    const subscriptions = this.subscriptions;
    this.subscriptions = [];
    // Stop new deliveries, let the ones in flight finish (and ack), then close.
    await Promise.all(subscriptions.map(({ channel, tag }) => channel.cancel(tag).catch(() => {})));
    await Promise.allSettled([...this.inFlight]);
    await Promise.all(subscriptions.map(({ channel }) => channel.close().catch(() => {})));
  }

  private deliver(
    channel: Channel,
    message: ConsumeMessage | null,
    handler: Handler,
    maxAttempts = Infinity,
  ): void {
    if (!message) return; // the broker cancelled the consumer (queue deleted); reconnecting re-declares it
    const work = this.handle(channel, message, handler, maxAttempts);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async handle(
    channel: Channel,
    message: ConsumeMessage,
    handler: Handler,
    maxAttempts: number,
  ): Promise<void> {
    if (previousDeliveries(message) >= maxAttempts) {
      this.transport.logger?.warn({ messageId: message.properties.messageId }, 'message dead-lettered');
      safely(() => channel.nack(message, false, false));
      return;
    }
    let parsed: Envelope;
    try {
      parsed = parseEnvelope(JSON.parse(message.content.toString('utf8')));
    } catch (error) {
      this.transport.logger?.warn({ err: error }, 'unreadable message dead-lettered');
      safely(() => channel.nack(message, false, false));
      return;
    }
    try {
      await handler(parsed);
    } catch (error) {
      this.transport.logger?.warn(
        { err: error, messageId: parsed.id, type: parsed.type },
        'handler failed; the message will be redelivered',
      );
      safely(() => channel.nack(message, false, true));
      return;
    }
    // If the channel closed meanwhile the ack is lost and the message comes again: handlers are idempotent.
    safely(() => channel.ack(message));
  }
}

/**
 * How often a quorum queue handed this message out before: returns by a consumer that nacked it or
 * went away. Counted here rather than with the queue's `x-delivery-limit`, whose treatment of
 * consumers that died differs between broker versions (RabbitMQ 4 counts those in x-acquired-count).
 */
function previousDeliveries(message: ConsumeMessage): number {
  const headers = message.properties.headers ?? {};
  const count = (name: string) => (typeof headers[name] === 'number' ? (headers[name] as number) : 0);
  return Math.max(count('x-delivery-count'), count('x-acquired-count'));
}

function safely(action: () => void): void {
  try {
    action();
  } catch {
    // The channel is closed; the broker redelivers what was not acked.
  }
}
