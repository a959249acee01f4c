import type { Knex } from 'knex';
import { createOutboxTable, dropOutboxTable } from '../outbox-table';

// The image service's transactional outbox: a job or an event is written in the same transaction as
// the data it is about, and the relay publishes the rows (oldest first) and deletes them once the
// transport has confirmed them.
export async function up(knex: Knex): Promise<void> {
  await createOutboxTable(knex, 'image');
}

export async function down(knex: Knex): Promise<void> {
  await dropOutboxTable(knex, 'image');
}
