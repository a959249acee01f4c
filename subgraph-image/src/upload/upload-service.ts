import { badUserInput } from '@imagehub/service-kit';
import type { FileUpload } from 'graphql-upload-minimal';
import type { Image, ImageStore } from '../store/image-store';
import { payloadTooLarge } from './errors';
import { sanitizeFilename } from './filename';
import type { Limiter } from './limiter';
import { processImage } from './process-image';
import { readLimited } from './read-limited';

export interface UploadLimits {
  maxUploadBytes: number;
  maxImagePixels: number;
}

/**
 * The upload pipeline, all-or-nothing: receive the file (size-capped), decode and re-encode it
 * under the processing limiter (type sniffed from the bytes, pixel count checked before decoding,
 * metadata stripped, thumbnail made), then store image and blobs in one transaction.
 */
export class UploadService {
  constructor(
    private readonly images: ImageStore,
    private readonly processing: Limiter,
    private readonly limits: UploadLimits,
  ) {}

  async upload(ownerId: string, file: Promise<FileUpload>): Promise<Image> {
    const { maxUploadBytes, maxImagePixels } = this.limits;
    const upload = await receive(file, maxUploadBytes);
    const bytes = await readLimited(upload.createReadStream(), maxUploadBytes);
    const processed = await this.processing.run(() => processImage(bytes, { maxPixels: maxImagePixels }));
    const filename = sanitizeFilename(upload.filename, processed.original.contentType);
    return this.images.create(ownerId, filename, processed);
  }
}

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
