import type { Knex } from '@imagehub/db';

/**
 * For idempotent consumers: records, inside the consumer's own transaction, that `consumer` handled
 * message `messageId` (in a service's `schema.inbox`). False when it already had: a redelivery, and
 * the caller then changes nothing. A second delivery running at the same moment waits on the first
 * one's row and sees it once that commits.
 */
export async function firstDelivery(
  trx: Knex.Transaction,
  table: string,
  consumer: string,
  messageId: string,
): Promise<boolean> {
  const inserted = await trx(table)
    .insert({ consumer, message_id: messageId })
    .onConflict(['consumer', 'message_id'])
    .ignore()
    .returning('message_id');
  return inserted.length > 0;
}
