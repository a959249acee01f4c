import { badUserInput, codedError, ErrorCode } from '@imagehub/service-kit';
import type { FileUpload } from 'graphql-upload-minimal';
import { requireUser } from '../auth';
import type { Context } from '../context';
import { isUuid } from '../ids';
import type { Image } from '../store/image-store';
import { payloadTooLarge } from '../upload/errors';
import { sanitizeFilename } from '../upload/filename';
import { processImage } from '../upload/process-image';
import { readLimited } from '../upload/read-limited';

const notFound = () => codedError(ErrorCode.NOT_FOUND, 'Image not found');

export const Mutation = {
  async uploadImage(_: unknown, args: { file: Promise<FileUpload> }, ctx: Context): Promise<Image> {
    const userId = requireUser(ctx.auth);
    const { config, images, processing } = ctx.services;
    try {
      const upload = await receive(args.file, config.maxUploadBytes);
      const bytes = await readLimited(upload.createReadStream(), config.maxUploadBytes);
      const processed = await processing.run(() => processImage(bytes, { maxPixels: config.maxImagePixels }));
      const filename = sanitizeFilename(upload.filename, processed.original.contentType);
      return await images.create(userId, filename, processed);
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

/** The upload's promise rejects when the multipart body was bad or cut off; say which, in contract codes. */
async function receive(file: Promise<FileUpload>, maxBytes: number): Promise<FileUpload> {
  try {
    const upload = await file;
    if (!upload || typeof upload.createReadStream !== 'function') throw new Error('not an upload');
    return upload;
  } catch (error) {
    if ((error as { status?: number }).status === 413) {
      throw payloadTooLarge(`The file is larger than the ${maxBytes}-byte limit`, maxBytes);
    }
    throw badUserInput('file', 'A file upload (multipart request) is required');
  }
}
