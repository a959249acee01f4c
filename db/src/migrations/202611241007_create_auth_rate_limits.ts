import type { Knex } from 'knex';

// The layout rate-limiter-flexible's RateLimiterPostgres expects (its own CREATE TABLE, made here
// so the service never runs DDL at start-up). `expire` is epoch milliseconds.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table auth.rate_limits (
      key varchar(255) primary key,
      points integer not null default 0,
      expire bigint
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists auth.rate_limits');
}
