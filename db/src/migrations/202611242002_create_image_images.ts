import type { Knex } from 'knex';

// Image metadata. owner_id is the auth user's id, deliberately without a foreign key: the auth schema
// belongs to another service. created_at has millisecond precision so it round-trips through a JS Date
// (list cursors carry it).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table image.images (
      id uuid primary key default gen_random_uuid(),
      owner_id uuid not null,
      filename text not null,
      content_type text not null,
      byte_size integer not null check (byte_size > 0),
      width integer not null check (width > 0),
      height integer not null check (height > 0),
      sha256 text not null references image.blobs (sha256),
      thumbnail_sha256 text not null references image.blobs (sha256),
      created_at timestamptz(3) not null default now()
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists image.images');
}
