import type { Knex } from 'knex';

// One row per upload handed to a worker (issue 14): written in the same transaction as the quarantined
// original (image.quarantine, same id) and the job's outbox message. The waiting mutation reads the
// outcome here; a worker commits only while the job is still `pending` and before `deadline`, so an
// upload the client was told failed (deadline, disconnect) can never appear later. `deadline` is a
// lease the waiter keeps renewing while it waits: a waiter that died or lost the database has nothing
// stored for it once the lease ran out. `error` is the coded error a failed job answers with (code,
// message, extensions).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table image.upload_jobs (
      id uuid primary key,
      owner_id uuid not null,
      status text not null default 'pending'
        check (status in ('pending', 'stored', 'failed', 'cancelled')),
      image_id uuid,
      error jsonb,
      deadline timestamptz not null,
      created_at timestamptz not null default now(),
      finished_at timestamptz
    )
  `);
  // Old jobs are swept by deadline; deleting one takes its quarantined original with it.
  await knex.raw('create index upload_jobs_deadline on image.upload_jobs (deadline)');
  await knex.raw(`
    alter table image.quarantine
      add constraint quarantine_job foreign key (id) references image.upload_jobs (id) on delete cascade
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table image.quarantine drop constraint if exists quarantine_job');
  await knex.raw('drop table if exists image.upload_jobs');
}
