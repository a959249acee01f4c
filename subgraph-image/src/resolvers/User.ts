import { codedError, ErrorCode } from '@imagehub/service-kit';
import { requireUser } from '../auth';
import type { UserResolvers } from '../generated/graphql';
import { listImages } from './Query';

/** A user as this subgraph knows one: by id (the auth subgraph owns the rest). */
export interface UserRef {
  __typename?: 'User';
  id: string;
}

export const User: UserResolvers = {
  /** This subgraph knows nothing about users beyond their id. */
  __resolveReference: (ref) => ({ id: ref.id }),

  images(user, args, ctx) {
    const userId = requireUser(ctx.auth);
    if (user.id.toLowerCase() !== userId.toLowerCase()) {
      throw codedError(ErrorCode.FORBIDDEN, 'Only the user themself may list their images');
    }
    return listImages(userId, args, ctx);
  },
};
