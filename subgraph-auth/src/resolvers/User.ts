import { codedError, ErrorCode } from '@imagehub/service-kit';
import type { UserResolvers } from '../generated/graphql';
import type { User as UserModel } from '../store/users';

/** A user reached through `_entities` (anyone's id), rather than as the caller (`me`, login, register). */
type ReferencedUser = UserModel & { viaReference: true };

export const User: UserResolvers = {
  /** N representations in one `_entities` request become one query, through the request's DataLoader. */
  async __resolveReference(reference, ctx): Promise<ReferencedUser | null> {
    const user = await ctx.loaders.userById.load(String(reference.id));
    return user && { ...user, viaReference: true };
  },

  /**
   * Private: `_entities` takes any id from whoever reaches the subgraph, so a user found that way
   * shows their email only to themself (the access token's subject). Names stay public: they are
   * what `Image.owner` is for.
   */
  async email(user, _args, ctx) {
    if (!('viaReference' in user)) return user.email;
    const callerId = await ctx.auth.authenticate(ctx.authorization);
    if (callerId.toLowerCase() !== user.id.toLowerCase()) {
      throw codedError(ErrorCode.FORBIDDEN, 'Only the user themself may read their email');
    }
    return user.email;
  },
};
