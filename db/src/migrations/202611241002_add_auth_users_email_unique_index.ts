import type { Knex } from 'knex';

// Emails are stored lower-cased already; indexing lower(email) keeps them unique in any letter case
// even if a future writer forgets to normalise, and lets concurrent registrations race safely.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create unique index users_email_lower_key on auth.users (lower(email))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists auth.users_email_lower_key');
}
