import type { Knex } from 'knex';

// Content-addressed bytes: one row per distinct sha256, shared by every image (or thumbnail) with
// those bytes. `ref_count` is maintained by the image store in the same transaction as the image rows,
// so the last reference deletes the blob and concurrent uploads/deletes serialise on this row's lock.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table image.blobs (
      sha256 text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
      data bytea not null,
      content_type text not null,
      byte_size integer not null check (byte_size >= 0),
      ref_count integer not null check (ref_count >= 0),
      created_at timestamptz not null default now()
    )
  `);
  // Images are already compressed: skip Postgres' futile pglz attempt, keep out-of-line (TOAST) storage.
  await knex.raw('alter table image.blobs alter column data set storage external');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists image.blobs');
}
