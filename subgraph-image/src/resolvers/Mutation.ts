import { codedError, ErrorCode, isUuid } from '@imagehub/service-kit';
import type { FileUpload } from 'graphql-upload-minimal';
import { requireUser } from '../auth';
import type { Context } from '../context';
import type { Image } from '../store/image-store';

const notFound = () => codedError(ErrorCode.NOT_FOUND, 'Image not found');

export const Mutation = {
  async uploadImage(_: unknown, args: { file: Promise<FileUpload> }, ctx: Context): Promise<Image> {
    const userId = requireUser(ctx.auth);
    try {
      return await ctx.services.uploads.upload(userId, args.file);
    } catch (error) {
      // The rest of a refused body is not worth reading on this connection.
      if (!ctx.res.headersSent) ctx.res.setHeader('Connection', 'close');
      throw error;
    }
  },

  async deleteImage(_: unknown, args: { id: string }, ctx: Context): Promise<boolean> {
    const userId = requireUser(ctx.auth);
    if (!isUuid(args.id)) throw notFound();
    if (!(await ctx.services.images.delete(args.id.toLowerCase(), userId))) throw notFound();
    return true;
  },
};
