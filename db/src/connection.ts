import knex, { type Knex } from 'knex';

export type { Knex };

export interface DbOptions {
  url: string;
  /** Shown in pg_stat_activity, so an operator can tell which service holds which connection. */
  applicationName: string;
  poolMin?: number;
  poolMax?: number;
  /** How long a query waits for a free connection before failing, so a Postgres outage fails fast instead of hanging. */
  acquireTimeoutMs?: number;
  /** Server-side cap on any one statement. */
  statementTimeoutMs?: number;
  /** Where knex's own warnings go; by default they are dropped, since knex would print plain text into JSON logs. */
  log?: { warn(message: string): void; error(message: string): void };
}

/** The knex/pg connection factory both subgraphs use. */
export function createDb(options: DbOptions): Knex {
  return knex({
    client: 'pg',
    connection: {
      connectionString: options.url,
      application_name: options.applicationName,
      statement_timeout: options.statementTimeoutMs ?? 15_000,
      connectionTimeoutMillis: Math.min(options.acquireTimeoutMs ?? 5_000, 5_000),
      keepAlive: true,
    },
    pool: {
      min: options.poolMin ?? 0,
      max: options.poolMax ?? 10,
      // Drop idle connections so a restarted Postgres is reached with fresh sockets.
      idleTimeoutMillis: 30_000,
    },
    acquireConnectionTimeout: options.acquireTimeoutMs ?? 5_000,
    log: {
      warn: (message: string) => options.log?.warn(String(message)),
      error: (message: string) => options.log?.error(String(message)),
      deprecate: () => {},
      debug: () => {},
    },
  });
}

/** True when Postgres answers a trivial query within the timeout. Used by `/readyz`. */
export async function isDatabaseReachable(db: Knex, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([db.raw('select 1').then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
