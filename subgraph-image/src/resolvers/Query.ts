import { isUuid, UnauthenticatedReason, unauthenticated } from '@imagehub/service-kit';
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
  const [exists, page] = await Promise.all([
    images.ownerExists(ownerId),
    images.listByOwner(ownerId, first, after),
  ]);
  // A validly signed token can outlive its account (deleted): no login, as at `me` and uploads.
  if (!exists) throw unauthenticated(UnauthenticatedReason.TOKEN_INVALID);
  return toConnection(page, () => images.countByOwner(ownerId));
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
