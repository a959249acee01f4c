import type { Knex } from 'knex';

// The throttles' counters (auth.rate_limits: logins, registrations, refreshes; image.rate_limits:
// uploads) skip the write-ahead log. A login's up-front charge writes only these counters, so its
// commit no longer waits for a WAL flush to disk, and neither do a failed login's bookkeeping or a
// refused attempt's refund (issue 17: about half a millisecond of Postgres CPU per login, measured
// in docs/performance.md). What that gives up: after a Postgres crash (not a clean restart) the
// counters start empty, as a limiter kept in memory would after a restart, and a streaming replica
// holds none of them. Counters are minutes of state; sessions, tokens and revocations stay logged.
const TABLES = ['auth.rate_limits', 'image.rate_limits'];

export async function up(knex: Knex): Promise<void> {
  for (const table of TABLES) await knex.raw(`alter table ${table} set unlogged`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of TABLES) await knex.raw(`alter table ${table} set logged`);
}
