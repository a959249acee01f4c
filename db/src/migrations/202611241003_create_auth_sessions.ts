import type { Knex } from 'knex';

// A session is one sign-in; its refresh tokens rotate, and revoking it ends all of them at once.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table auth.sessions (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references auth.users (id) on delete cascade,
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists auth.sessions');
}
