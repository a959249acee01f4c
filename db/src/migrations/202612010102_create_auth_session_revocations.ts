import type { Knex } from 'knex';

/**
 * Sessions whose access tokens must be refused before they expire. Every verifier (gateway, both
 * subgraphs) keeps this list in memory and reloads it about once a second, so it must stay small:
 * a row is needed only until the last access token the session could hold has expired anyway
 * (`expires_at`), and is pruned after that. No foreign key to auth.sessions on purpose: deleting an
 * account deletes its sessions, and their revocations must outlive them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table auth.session_revocations (
      session_id uuid primary key,
      revoked_at timestamptz not null default now(),
      expires_at timestamptz not null
    )
  `);
  await knex.raw('create index session_revocations_expires_at_idx on auth.session_revocations (expires_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists auth.session_revocations');
}
