import { codedError, ErrorCode } from '@imagehub/service-kit';
import { requireUser } from '../auth';
import type { Context } from '../context';
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
    const userId = requireSelf(user, ctx, 'list their images');
    return listImages(userId, args, ctx);
  },

  async usage(user, _, ctx) {
    const userId = requireSelf(user, ctx, 'see their storage usage');
    const usage = await ctx.services.images.usage(userId);
    return { ...usage, quotaBytes: ctx.services.config.uploads.quotaBytes ?? null };
  },
};

/** The caller's id when the User is the caller; FORBIDDEN for anyone else's. */
function requireSelf(user: UserRef, ctx: Context, what: string): string {
  const userId = requireUser(ctx.auth);
  if (user.id.toLowerCase() !== userId.toLowerCase()) {
    throw codedError(ErrorCode.FORBIDDEN, `Only the user themself may ${what}`);
  }
  return userId;
}
