import { unauthenticated } from '@imagehub/service-kit';
import type { Context } from '../context';
import type { User } from '../store/users';

export const Query = {
  async me(_parent: unknown, _args: unknown, ctx: Context): Promise<User> {
    const userId = await ctx.auth.authenticate(ctx.bearer);
    const user = await ctx.loaders.userById.load(userId);
    // A valid token for an account that no longer exists is no login.
    if (!user) throw unauthenticated();
    return user;
  },
};
