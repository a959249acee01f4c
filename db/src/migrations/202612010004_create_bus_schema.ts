import type { Knex } from 'knex';

/**
 * The Postgres transport, for machines without RabbitMQ (`npm start` with no AMQP_URL): work queues
 * and event subscriptions as rows. Shared by the services the way a broker is, so both service roles
 * may use it (and nothing else here). In deployments with a broker these tables stay empty.
 * - `messages`: one row per message per queue; a consumer holds the row's lock while it works, so a
 *   consumer that dies releases it at once and another one takes it.
 * - `deliveries`: how often each message was handed out, counted outside the consumer's transaction
 *   so that a crash counts too (a poison message reaches the dead-letter queue, as with RabbitMQ).
 * - `bindings`: which queues receive which event types (topic patterns, `*` one word, `#` any).
 */
const ROLES = ['imagehub_image', 'imagehub_auth'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create schema bus');
  await knex.raw(`
    create table bus.messages (
      id bigint generated always as identity primary key,
      queue text not null,
      message jsonb not null,
      visible_at timestamptz not null default now(),
      created_at timestamptz not null default now()
    )
  `);
  await knex.raw('create index messages_queue_visible on bus.messages (queue, visible_at, id)');
  await knex.raw(`
    create table bus.deliveries (
      message_id bigint primary key,
      attempts integer not null check (attempts > 0)
    )
  `);
  await knex.raw(`
    create table bus.bindings (
      queue text not null,
      pattern text not null,
      primary key (queue, pattern)
    )
  `);
  for (const role of ROLES) {
    await knex.raw(`grant usage on schema bus to ${role}`);
    await knex.raw(`grant select, insert, update, delete on all tables in schema bus to ${role}`);
    // bus.messages' identity column draws from a sequence.
    await knex.raw(`grant usage, select on all sequences in schema bus to ${role}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const role of ROLES) {
    await knex.raw(`revoke all on all sequences in schema bus from ${role}`);
    await knex.raw(`revoke all on all tables in schema bus from ${role}`);
    await knex.raw(`revoke usage on schema bus from ${role}`);
  }
  await knex.raw('drop schema if exists bus cascade');
}
