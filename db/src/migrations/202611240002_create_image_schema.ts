import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create schema if not exists image');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop schema if exists image cascade');
}
