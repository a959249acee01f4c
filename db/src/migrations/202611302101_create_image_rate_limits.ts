import type { Knex } from 'knex';

// Upload rate-limit counters of the image subgraph, in the layout rate-limiter-flexible's
// RateLimiterPostgres expects (as auth.rate_limits), so every replica counts a user's uploads together.
// `expire` is epoch milliseconds. The image role's default privileges cover the new table.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table image.rate_limits (
      key varchar(255) primary key,
      points integer not null default 0,
      expire bigint
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists image.rate_limits');
}
