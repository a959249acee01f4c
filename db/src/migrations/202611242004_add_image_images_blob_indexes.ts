import type { Knex } from 'knex';

// Deleting a blob row makes Postgres check both foreign keys; without these it would scan image.images.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index images_sha256_idx on image.images (sha256)');
  await knex.raw('create index images_thumbnail_sha256_idx on image.images (thumbnail_sha256)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists image.images_thumbnail_sha256_idx');
  await knex.raw('drop index if exists image.images_sha256_idx');
}
