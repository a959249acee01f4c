import type { Knex } from 'knex';

/**
 * The image subgraph must not store images for a user who does not exist (a token outliving its
 * account, or one minted for a made-up id). A foreign key from image.images to auth.users would
 * tie the two schemas' migrations and deletes together (and `user.deleted` is to be handled by the
 * image service itself); instead the image role may read the ids of existing users, and nothing
 * else, through this view. It runs with its owner's rights (the migrating role), so
 * `imagehub_image` needs no grant on the auth schema. The default privileges of the image schema
 * would also grant writes, which on a simple view reach auth.users: those are revoked.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create view image.user_ids with (security_barrier) as select id from auth.users');
  await knex.raw('revoke all on image.user_ids from imagehub_image');
  await knex.raw('grant select on image.user_ids to imagehub_image');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop view if exists image.user_ids');
}
