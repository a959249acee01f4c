import type { Knex } from 'knex';

// The image service's transactional outbox: a job or an event is written in the same transaction as
// the data it is about, and the relay publishes the rows (oldest first) and deletes them once the
// transport has confirmed them. `queue` names the work queue of a job; null means an event, routed by
// its type. `message` is the whole envelope (id, type, time, version, data).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table image.outbox (
      id bigint generated always as identity primary key,
      queue text,
      message jsonb not null,
      created_at timestamptz not null default now()
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists image.outbox');
}
