import type { Knex } from 'knex';
import { createOutboxTable, dropOutboxTable } from '../outbox-table';

// The auth service's transactional outbox (the same table as image.outbox): `user.deleted` is written
// in the transaction that deletes the user, so the event exists exactly when the deletion committed,
// and the auth service's relay publishes it. Only imagehub_auth may touch it (the auth schema's
// default privileges); the image service learns of deletions through the transport alone.
export async function up(knex: Knex): Promise<void> {
  await createOutboxTable(knex, 'auth');
}

export async function down(knex: Knex): Promise<void> {
  await dropOutboxTable(knex, 'auth');
}
