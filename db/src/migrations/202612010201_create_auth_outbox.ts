import type { Knex } from 'knex';

// The auth service's transactional outbox (the same shape as image.outbox): `user.deleted` is written
// in the transaction that deletes the user, so the event exists exactly when the deletion committed,
// and the auth service's relay publishes it. Only imagehub_auth may touch it (the auth schema's
// default privileges); the image service learns of deletions through the transport alone.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table auth.outbox (
      id bigint generated always as identity primary key,
      queue text,
      message jsonb not null,
      created_at timestamptz not null default now()
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists auth.outbox');
}
