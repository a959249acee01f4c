import type { Knex } from 'knex';

// Only the SHA-256 of a refresh token is stored: a leaked table cannot be replayed.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table auth.refresh_tokens (
      token_hash bytea primary key,
      session_id uuid not null references auth.sessions (id) on delete cascade,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      used_at timestamptz
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists auth.refresh_tokens');
}
