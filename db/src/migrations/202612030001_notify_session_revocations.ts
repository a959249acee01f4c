import type { Knex } from 'knex';

// Every new row of auth.session_revocations NOTIFYs the channel `imagehub_revocations`
// (REVOCATION_CHANNEL in service-db.ts), delivered when the revoking transaction commits. The
// verifiers with a database (both subgraphs) LISTEN on it and reload their list at once, so a
// revocation reaches them in milliseconds, and their timer poll is only the backstop for a dropped
// LISTEN connection. A row trigger, not a statement trigger: every sign-in runs the revoking
// statement (the session bound) and almost always lists nothing, which must not wake anyone.
// Postgres folds the identical notifications of one transaction into one (the payload is empty).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function auth.notify_session_revoked() returns trigger language plpgsql as $$
    begin
      perform pg_notify('imagehub_revocations', '');
      return null;
    end
    $$
  `);
  await knex.raw(`
    create trigger session_revocations_notify
      after insert on auth.session_revocations
      for each row execute function auth.notify_session_revoked()
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists session_revocations_notify on auth.session_revocations');
  await knex.raw('drop function if exists auth.notify_session_revoked()');
}
