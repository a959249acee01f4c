import { codedError, ErrorCode } from '@imagehub/service-kit';
import { requireUser } from '../auth';
import type { Context } from '../context';
import { listImages } from './Query';

interface UserRef {
  id: string;
}

export const User = {
  /** This subgraph knows nothing about users beyond their id. */
  __resolveReference: (ref: UserRef): UserRef => ({ id: ref.id }),

  images(user: UserRef, args: { first?: number | null; after?: string | null }, ctx: Context) {
    const userId = requireUser(ctx.auth);
    if (user.id.toLowerCase() !== userId.toLowerCase()) {
      throw codedError(ErrorCode.FORBIDDEN, 'Only the user themself may list their images');
    }
    return listImages(userId, args, ctx);
  },
};
