import type { Envelope } from './envelope';

/** A message's way out: to one work queue (a job) or, by its type, to every subscribed queue (an event). */
export type Destination = { queue: string } | { event: true };

export type Handler = (message: Envelope) => Promise<void>;

export interface QueueOptions {
  /** The queue's name (jobs are sent to it by name). */
  queue: string;
  /** Event types (topic patterns: `*` is one word, `#` any number) this queue receives. */
  events?: string[];
  /** Messages in flight at once in this process. */
  prefetch: number;
  /**
   * Deliveries before a message goes to the queue's dead-letter queue. A handler that throws and a
   * process that dies while handling both count.
   */
  maxAttempts: number;
  /** Handles what was dead-lettered (e.g. tells the job's waiter it failed); none leaves it for an operator. */
  onDeadLetter?: Handler;
}

export interface Consumer {
  /** Stops taking messages and waits for the ones in flight. */
  stop(): Promise<void>;
}

/**
 * The small interface both transports implement (RabbitMQ, and Postgres for a machine without a
 * broker), so workers and the outbox relay have one code path. Delivery is at least once: a handler
 * that resolves acknowledges its message, one that throws (or a process that dies) gets it
 * redelivered, so handlers must be idempotent (see `inbox.ts`).
 */
export interface Transport {
  readonly name: 'rabbitmq' | 'postgres';
  /** Resolves once the transport has the message durably (broker confirm, committed row); else throws. */
  publish(destination: Destination, message: Envelope): Promise<void>;
  consume(options: QueueOptions, handler: Handler): Promise<Consumer>;
  /** Whether messages can flow right now (for `/readyz`). */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

export const deadLetterQueue = (queue: string) => `${queue}.dead-letter`;

/** AMQP topic matching: words split on `.`, `*` matches exactly one word, `#` zero or more. */
export function topicMatches(pattern: string, type: string): boolean {
  const match = (p: string[], t: string[]): boolean => {
    if (p.length === 0) return t.length === 0;
    const [head, ...rest] = p;
    if (head === '#') return match(rest, t) || (t.length > 0 && match(p, t.slice(1)));
    if (t.length === 0) return false;
    return (head === '*' || head === t[0]) && match(rest, t.slice(1));
  };
  return match(pattern.split('.'), type.split('.'));
}
