import { isUuid } from '@imagehub/service-kit';
import { requireUser } from '../auth';
import type { Context } from '../context';
import { decodeCursor, pageSize, toConnection } from '../pagination';
import type { Image } from '../store/image-store';

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export async function listImages(ownerId: string, args: PageArgs, ctx: Context) {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after);
  return toConnection(await ctx.services.images.listByOwner(ownerId, first, after));
}

export const Query = {
  async image(_: unknown, args: { id: string }, ctx: Context): Promise<Image | null> {
    requireUser(ctx.auth);
    if (!isUuid(args.id)) return null;
    return ctx.ownImages.load(args.id.toLowerCase());
  },

  myImages(_: unknown, args: PageArgs, ctx: Context) {
    return listImages(requireUser(ctx.auth), args, ctx);
  },
};
