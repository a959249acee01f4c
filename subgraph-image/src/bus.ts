import type { Knex } from '@imagehub/db';
import {
  type Consumer,
  createTransport,
  type Handler,
  OutboxRelay,
  type QueueOptions,
  type Transport,
} from '@imagehub/messaging';
import type { Logger } from '@imagehub/service-kit';
import type { BusConfig } from './config';
import { OUTBOX_TABLE } from './jobs/upload-jobs';

/** The image service's way onto the bus, in the subgraph and in the workers alike. */
export interface Bus {
  transport: Transport;
  /** Publishes image.outbox (jobs, events); `wake()` after a commit that wrote to it. */
  relay: OutboxRelay;
  close(): Promise<void>;
}

export function createBus(options: {
  bus: BusConfig;
  databaseUrl: string;
  db: Knex;
  applicationName: string;
  logger: Logger;
  /** Messages this process handles at once (the Postgres transport holds a connection for each). */
  maxInFlight?: number;
}): Bus {
  const transport = createTransport({
    amqpUrl: options.bus.amqpUrl,
    databaseUrl: options.databaseUrl,
    applicationName: options.applicationName,
    namespace: options.bus.namespace,
    logger: options.logger,
    maxInFlight: options.maxInFlight,
  });
  const relay = new OutboxRelay({
    db: options.db,
    table: OUTBOX_TABLE,
    transport,
    logger: options.logger,
  });
  relay.start();
  return {
    transport,
    relay,
    async close() {
      await relay.stop();
      await transport.close();
    },
  };
}

/** One queue a process consumes: the upload jobs now, more (e.g. `user.deleted`) by adding an entry. */
export interface Subscription {
  options: QueueOptions;
  handler: Handler;
}

export async function subscribe(transport: Transport, subscriptions: Subscription[]): Promise<Consumer> {
  const consumers = await Promise.all(subscriptions.map((s) => transport.consume(s.options, s.handler)));
  return { stop: async () => void (await Promise.all(consumers.map((consumer) => consumer.stop()))) };
}
