import type { Knex } from 'knex';

// Each subgraph owns its tables in its own schema; no service reads another's.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create schema if not exists auth');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop schema if exists auth cascade');
}
