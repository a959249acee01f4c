import { codedError, ErrorCode, isUuid } from '@imagehub/service-kit';
import { requireUser } from '../auth';
import type { MutationResolvers } from '../generated/graphql';

const notFound = () => codedError(ErrorCode.NOT_FOUND, 'Image not found');

export const Mutation: MutationResolvers = {
  async uploadImage(_, args, ctx) {
    const userId = requireUser(ctx.auth);
    try {
      return await ctx.services.uploads.upload(userId, args.file, ctx.clientGone);
    } catch (error) {
      // The rest of a refused body is not worth reading on this connection.
      if (!ctx.res.headersSent) ctx.res.setHeader('Connection', 'close');
      throw error;
    }
  },

  async deleteImage(_, args, ctx) {
    const userId = requireUser(ctx.auth);
    if (!isUuid(args.id)) throw notFound();
    if (!(await ctx.services.images.delete(args.id.toLowerCase(), userId))) throw notFound();
    // Its image.deleted event is in the outbox: publish it now rather than at the next poll.
    ctx.services.bus.relay.wake();
    return true;
  },
};
