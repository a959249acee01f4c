import type { Knex } from 'knex';

/**
 * The image subgraph refuses access tokens of revoked sessions, so it reads the revocation list:
 * the ids of revoked sessions that still matter, and nothing else of the auth schema (no user
 * ids, no times). Like image.user_ids, the view runs with its owner's rights, so `imagehub_image`
 * needs no grant on the auth schema, and the writes that the image schema's default privileges
 * would grant are revoked.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create view image.revoked_sessions with (security_barrier) as
      select session_id from auth.session_revocations where expires_at > now()
  `);
  await knex.raw('revoke all on image.revoked_sessions from imagehub_image');
  await knex.raw('grant select on image.revoked_sessions to imagehub_image');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop view if exists image.revoked_sessions');
}
