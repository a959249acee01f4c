import type { Knex } from 'knex';

/**
 * The transactional outbox of a service's schema (`<schema>.outbox`), the table the messaging
 * package's addToOutbox and OutboxRelay work on: `queue` names the work queue of a job, null means
 * an event routed by its type; `message` is the whole envelope (id, type, time, version, data).
 * The schema's service role gets its rights from that schema's default privileges (migrations
 * 2026112400NN), so no grant is needed here.
 *
 * Applied migrations call this (202612010002 image, 202612010201 auth): a change here changes
 * what they make on a new database but not on one where they ran. So it never changes; a new
 * shape is a new migration (db/src/outbox-table.test.ts pins this one).
 */
export async function createOutboxTable(knex: Knex, schema: 'auth' | 'image'): Promise<void> {
  await knex.raw(
    `
    create table ??.outbox (
      id bigint generated always as identity primary key,
      queue text,
      message jsonb not null,
      created_at timestamptz not null default now()
    )
  `,
    [schema],
  );
}

export async function dropOutboxTable(knex: Knex, schema: 'auth' | 'image'): Promise<void> {
  await knex.raw('drop table if exists ??.outbox', [schema]);
}
