import type { Knex } from 'knex';

// Serves "an owner's images, newest first" with keyset pagination on (created_at, id).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    'create index images_owner_created_idx on image.images (owner_id, created_at desc, id desc)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists image.images_owner_created_idx');
}
