import type { Knex } from 'knex';

// Uploads waiting for a worker: the original bytes exactly as received, never served (no route reads
// this table). A row lives only while its job runs; it is deleted whatever the outcome. owner_id has
// no foreign key for the same reason as image.images (the auth schema belongs to another service).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table image.quarantine (
      id uuid primary key default gen_random_uuid(),
      owner_id uuid not null,
      filename text not null,
      data bytea not null,
      byte_size integer not null check (byte_size > 0),
      created_at timestamptz not null default now()
    )
  `);
  // Uploads are already compressed: skip pglz, keep the bytes out of line (TOAST), as image.blobs does.
  await knex.raw('alter table image.quarantine alter column data set storage external');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists image.quarantine');
}
