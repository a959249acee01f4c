import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from '@imagehub/db';
import { type Envelope, firstDelivery, parseUserDeleted, USER_DELETED } from '@imagehub/messaging';
import { isUuid, type Logger } from '@imagehub/service-kit';
import type { Subscription } from '../bus';
import type { ImageStore } from '../store/image-store';

/** This service's queue for `user.deleted`, and its name in image.inbox. */
export const USER_DELETED_QUEUE = 'image.user-deleted';
const INBOX = 'image.inbox';

/** Deliveries before a message goes to the dead-letter queue (with a pause after each failure: about a minute). */
const MAX_ATTEMPTS = 60;
const PAUSE_AFTER_FAILURE_MS = 1_000;

export type UserDeletedOutcome =
  | { outcome: 'deleted'; userId: string; imageIds: string[] }
  /** This message was handled before: nothing changed. */
  | { outcome: 'redelivered' };

/**
 * The image service's half of an account deletion: every image of the user goes, and with it their
 * references to blobs (blobs that other users' images share stay for them). Idempotent: the message id
 * is recorded in image.inbox in the same transaction, so a redelivery (every transport delivers at
 * least once) changes nothing.
 */
export class UserDeletedHandler {
  constructor(
    private readonly db: Knex,
    private readonly images: ImageStore,
    private readonly logger: Logger,
    /** Called after a commit that added `image.deleted` events to the outbox (wakes the relay). */
    private readonly onCommitted: () => void = () => {},
  ) {}

  async handle(message: Envelope): Promise<UserDeletedOutcome> {
    const { userId } = parseUserDeleted(message);
    if (!isUuid(message.id) || !isUuid(userId)) throw new Error(`${USER_DELETED} with an id that is no UUID`);
    const imageIds = await this.db.transaction(async (trx) => {
      if (!(await firstDelivery(trx, INBOX, USER_DELETED_QUEUE, message.id))) return undefined;
      return this.images.deleteAllOf(trx, userId.toLowerCase());
    });
    if (!imageIds) {
      this.logger.info({ messageId: message.id }, `${USER_DELETED} delivered again; nothing to do`);
      return { outcome: 'redelivered' };
    }
    if (imageIds.length > 0) this.onCommitted();
    this.logger.info({ userId, images: imageIds.length }, "deleted user's images deleted");
    return { outcome: 'deleted', userId, imageIds };
  }
}

/**
 * The subscription to `user.deleted`, on a queue of this service's own (durable: events wait there
 * while the service is down). A failure (the database away) is retried after a pause, so a short
 * outage does not use up the attempts at the broker's redelivery pace; what still fails is
 * dead-lettered and logged as an error for an operator, with the user id, since those images stay
 * until it is handled.
 */
export function userDeletedSubscription(handler: UserDeletedHandler, logger: Logger): Subscription {
  return {
    options: {
      queue: USER_DELETED_QUEUE,
      events: [USER_DELETED],
      prefetch: 1,
      maxAttempts: MAX_ATTEMPTS,
      onDeadLetter: async (message) => {
        logger.error(
          { messageId: message.id, type: message.type, data: message.data },
          `${USER_DELETED} dead-lettered: the user's images were not deleted`,
        );
      },
    },
    handler: async (message) => {
      try {
        await handler.handle(message);
      } catch (error) {
        await sleep(PAUSE_AFTER_FAILURE_MS);
        throw error;
      }
    },
  };
}
