import type { Knex } from 'knex';

/**
 * What `mySessions` shows and what bounds a session: the client's User-Agent (at most 200
 * characters, cut by the service), when the session was last refreshed, and an absolute expiry:
 * refreshing rotates the token but never extends the session past `expires_at`. Sessions from
 * before this migration get 30 days from their creation, the lifetime their refresh tokens had.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table auth.sessions
      add column user_agent text check (char_length(user_agent) <= 200),
      add column last_used_at timestamptz,
      add column expires_at timestamptz
  `);
  await knex.raw(`
    update auth.sessions
       set last_used_at = created_at, expires_at = created_at + interval '30 days'
  `);
  await knex.raw(`
    alter table auth.sessions
      alter column last_used_at set default now(),
      alter column last_used_at set not null,
      alter column expires_at set not null
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table auth.sessions
      drop column if exists user_agent,
      drop column if exists last_used_at,
      drop column if exists expires_at
  `);
}
