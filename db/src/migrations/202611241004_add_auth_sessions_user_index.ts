import type { Knex } from 'knex';

// Foreign keys are not indexed by Postgres itself; deleting a user would scan every session.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index sessions_user_id_idx on auth.sessions (user_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists auth.sessions_user_id_idx');
}
