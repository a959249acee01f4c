import type { Context } from '../context';
import type { User as UserModel } from '../store/users';

export const User = {
  /** N representations in one `_entities` request become one query, through the request's DataLoader. */
  __resolveReference(reference: { id: string }, ctx: Context): Promise<UserModel | null> {
    return ctx.loaders.userById.load(String(reference.id));
  },
};
