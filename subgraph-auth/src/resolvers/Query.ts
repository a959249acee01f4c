import { UnauthenticatedReason, unauthenticated } from '@imagehub/service-kit';
import type { QueryResolvers } from '../generated/graphql';

export const Query: QueryResolvers = {
  async me(_parent, _args, ctx) {
    const userId = await ctx.auth.authenticate(ctx.authorization);
    const user = await ctx.loaders.userById.load(userId);
    // A valid token for an account that no longer exists is no login: the client must log in again.
    if (!user) throw unauthenticated(UnauthenticatedReason.TOKEN_INVALID);
    return user;
  },
  mySessions: (_parent, _args, ctx) => ctx.auth.mySessions(ctx.authorization),
};
