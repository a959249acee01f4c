import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index refresh_tokens_session_id_idx on auth.refresh_tokens (session_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists auth.refresh_tokens_session_id_idx');
}
