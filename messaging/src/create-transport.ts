import type { Logger } from '@imagehub/service-kit';
import { PostgresTransport } from './postgres-transport';
import { RabbitMqTransport } from './rabbitmq-transport';
import type { Transport } from './transport';

export interface TransportSettings {
  /** RabbitMQ when set; otherwise the jobs and events travel through Postgres. */
  amqpUrl?: string;
  databaseUrl: string;
  /** Shown in pg_stat_activity and the broker's connection list. */
  applicationName: string;
  namespace?: string;
  logger?: Logger;
  /** Postgres transport: messages handled at once in this process (each holds a connection). */
  maxInFlight?: number;
}

export function createTransport(settings: TransportSettings): Transport {
  if (settings.amqpUrl) {
    return new RabbitMqTransport({
      url: settings.amqpUrl,
      namespace: settings.namespace,
      logger: settings.logger,
    });
  }
  return new PostgresTransport({
    url: settings.databaseUrl,
    applicationName: settings.applicationName,
    logger: settings.logger,
    maxInFlight: settings.maxInFlight,
  });
}
