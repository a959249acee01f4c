import type { Knex } from 'knex';

// What the image service's consumers have already handled, by message id: a consumer records the id
// in the same transaction as its effect, so a redelivered message (at-least-once transports) changes
// nothing the second time.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table image.inbox (
      consumer text not null,
      message_id uuid not null,
      handled_at timestamptz not null default now(),
      primary key (consumer, message_id)
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists image.inbox');
}
