import type { Logger, RevocationList } from '@imagehub/service-kit';
import { ChannelListener } from './channel-listener';
import { createDb, type Knex } from './connection';

/** What every service's config says about its database. */
export interface ServiceDbConfig {
  databaseUrl: string;
  dbPoolMax: number;
}

/**
 * A service's connection pool: named after the service in pg_stat_activity, sized by its config
 * (DB_POOL_MAX), knex's own warnings and errors in its JSON log.
 */
export function serviceDb(config: ServiceDbConfig, logger: Logger, name: string): Knex {
  return createDb({
    url: config.databaseUrl,
    applicationName: name,
    poolMax: config.dbPoolMax,
    log: { warn: (msg) => logger.warn(msg), error: (msg) => logger.error(msg) },
  });
}

/**
 * The one connection a service's revocation poll reads on (`<name>-revocations`): queued behind the
 * service's own work (logins, uploads) for a free pool connection, the poll could fall behind the
 * staleness bound under load and refuse every signed-in request. Its reads are tiny: a statement
 * slower than 2 s is a database in trouble, and the poll fails (and retries) rather than hangs.
 */
export function revocationPollDb(config: Pick<ServiceDbConfig, 'databaseUrl'>, name: string): Knex {
  return createDb({
    url: config.databaseUrl,
    applicationName: `${name}-revocations`,
    poolMax: 1,
    statementTimeoutMs: 2_000,
  });
}

/** What each new row of auth.session_revocations NOTIFYs (migration 202612030001). */
export const REVOCATION_CHANNEL = 'imagehub_revocations';

/**
 * The LISTEN connection (`<name>-revocations-listen`) that tells a subgraph's revocation list of
 * each revocation as it commits (it reloads at once) and whether it can be told at all (while not,
 * it polls every REVOCATION_POLL_INTERVAL_MS instead of REVOCATION_LISTEN_POLL_INTERVAL_MS).
 * Started; close it on shutdown.
 */
export function listenForRevocations(
  config: Pick<ServiceDbConfig, 'databaseUrl'>,
  name: string,
  list: Pick<RevocationList, 'notified' | 'setListening'>,
  logger?: Logger,
): ChannelListener {
  const listener = new ChannelListener({
    url: config.databaseUrl,
    applicationName: `${name}-revocations-listen`,
    channel: REVOCATION_CHANNEL,
    onNotify: () => void list.notified(),
    onState: (up) => list.setListening(up),
    logger,
  });
  listener.start();
  return listener;
}
