import { isUuid } from '@imagehub/service-kit';
import { requireUser } from '../auth';
import type { Context } from '../context';
import type { QueryResolvers } from '../generated/graphql';
import { decodeCursor, pageSize, toConnection } from '../pagination';

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export async function listImages(ownerId: string, args: PageArgs, ctx: Context) {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after);
  const { images } = ctx.services;
  return toConnection(await images.listByOwner(ownerId, first, after), () => images.countByOwner(ownerId));
}

export const Query: QueryResolvers = {
  async image(_, args, ctx) {
    requireUser(ctx.auth);
    if (!isUuid(args.id)) return null;
    return ctx.ownImages.load(args.id.toLowerCase());
  },

  myImages(_, args, ctx) {
    return listImages(requireUser(ctx.auth), args, ctx);
  },
};
