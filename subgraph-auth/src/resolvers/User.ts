import type { UserResolvers } from '../generated/graphql';

export const User: UserResolvers = {
  /** N representations in one `_entities` request become one query, through the request's DataLoader. */
  __resolveReference(reference, ctx) {
    return ctx.loaders.userById.load(String(reference.id));
  },
};
