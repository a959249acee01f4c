import type { Knex } from 'knex';

/**
 * The image subgraph connects as a member of `imagehub_image`, which may read and write rows in the
 * `image` schema and nothing else: no DDL, no other schema. Roles are cluster-wide while this runs
 * once per database (tests make many databases on one server, sometimes at the same moment), so
 * creating the role tolerates it existing already or being created concurrently. Default
 * privileges cover the tables that later migrations create, as long as the same role runs them.
 */
const ROLE = 'imagehub_image';
const SCHEMA = 'image';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    do $$
    begin
      if not exists (select from pg_roles where rolname = '${ROLE}') then
        create role ${ROLE} nologin;
      end if;
    exception when duplicate_object or unique_violation then
      null;
    end
    $$
  `);
  await knex.raw(`grant usage on schema ${SCHEMA} to ${ROLE}`);
  await knex.raw(`grant select, insert, update, delete on all tables in schema ${SCHEMA} to ${ROLE}`);
  await knex.raw(`grant usage, select on all sequences in schema ${SCHEMA} to ${ROLE}`);
  await knex.raw(
    `alter default privileges in schema ${SCHEMA} grant select, insert, update, delete on tables to ${ROLE}`,
  );
  await knex.raw(`alter default privileges in schema ${SCHEMA} grant usage, select on sequences to ${ROLE}`);
}

/** Revokes only: the role is shared by every database on the server, and login roles belong to it. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter default privileges in schema ${SCHEMA} revoke all on sequences from ${ROLE}`);
  await knex.raw(`alter default privileges in schema ${SCHEMA} revoke all on tables from ${ROLE}`);
  await knex.raw(`revoke all on all sequences in schema ${SCHEMA} from ${ROLE}`);
  await knex.raw(`revoke all on all tables in schema ${SCHEMA} from ${ROLE}`);
  await knex.raw(`revoke usage on schema ${SCHEMA} from ${ROLE}`);
}
