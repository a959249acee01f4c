import { type Envelope, envelope } from './envelope';

/**
 * The events the services exchange, each with its type, the shape of its `data` and a parser that
 * refuses shapes it does not know (a newer `version`, a missing field): a consumer then leaves the
 * message to be retried or dead-lettered rather than acting on a guess.
 */

/** The auth service deleted an account; the image service deletes the user's images. */
export const USER_DELETED = 'user.deleted';

export interface UserDeleted {
  userId: string;
}

export function userDeletedEvent(userId: string): Envelope<UserDeleted> {
  return envelope<UserDeleted>(USER_DELETED, { userId }, 1);
}

export function parseUserDeleted(message: Envelope): UserDeleted {
  const data = message.data as Partial<UserDeleted> | null;
  if (
    message.type !== USER_DELETED ||
    message.version !== 1 ||
    typeof data !== 'object' ||
    data === null ||
    typeof data.userId !== 'string'
  ) {
    throw new Error(`not a ${USER_DELETED} event of version 1 with a userId`);
  }
  return { userId: data.userId };
}
