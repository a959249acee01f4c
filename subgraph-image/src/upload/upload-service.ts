import { badUserInput, UnauthenticatedReason, unauthenticated } from '@imagehub/service-kit';
import type { FileUpload } from 'graphql-upload-minimal';
import { type Image, type ImageStore, QuotaExceededError, UnknownOwnerError } from '../store/image-store';
import type { UploadAdmission } from './admission';
import { payloadTooLarge, quotaExceeded } from './errors';
import { sanitizeFilename } from './filename';
import type { Limiter } from './limiter';
import { type ImageLimits, processImage } from './process-image';
import { readLimited } from './read-limited';

export interface UploadLimits {
  maxUploadBytes: number;
  maxImagePixels: number;
  /** Per-format pixel limits, frame count and time limit of the decoders. */
  imageBudget: Omit<ImageLimits, 'maxPixels'>;
  uploads: { quotaBytes: number | undefined };
}

/**
 * The upload pipeline, all-or-nothing: admit the caller (uploads in flight, attempts per minute,
 * quota not used up), receive the file (size-capped), decode and re-encode it in the caller's turn
 * at the decoders (type sniffed from the bytes, per-format pixel and frame limits checked before
 * decoding, metadata stripped, thumbnail made), then store image and blobs in one transaction,
 * checking the quota with this image's size. When the client goes away (`signal`), a queued upload
 * leaves the queue and nothing is stored.
 */
export class UploadService {
  constructor(
    private readonly images: ImageStore,
    private readonly processing: Limiter,
    private readonly admission: UploadAdmission,
    private readonly limits: UploadLimits,
  ) {}

  async upload(ownerId: string, file: Promise<FileUpload>, signal: AbortSignal): Promise<Image> {
    const { maxUploadBytes, maxImagePixels, imageBudget } = this.limits;
    const { quotaBytes } = this.limits.uploads;
    const upload = await receive(file, maxUploadBytes);
    // Both checks come before a byte of the file is read.
    const leave = await this.admission.enter(ownerId);
    try {
      if (quotaBytes !== undefined) {
        const { usedBytes } = await this.images.usage(ownerId);
        if (usedBytes >= quotaBytes) throw quotaExceeded(quotaBytes, usedBytes);
      }
      const bytes = await readLimited(openStream(upload), maxUploadBytes);
      // Queued per user: while this user's earlier uploads wait, other users' uploads get their turn.
      const processed = await this.processing.run(
        () => {
          signal.throwIfAborted();
          return processImage(bytes, { maxPixels: maxImagePixels, ...imageBudget });
        },
        { key: ownerId, signal },
      );
      const filename = sanitizeFilename(upload.filename, processed.original.contentType);
      return await this.images.create(ownerId, filename, processed, { quotaBytes, signal });
    } catch (error) {
      if (error instanceof QuotaExceededError) throw quotaExceeded(error.limitBytes, error.usedBytes);
      // A validly signed token can outlive its account; nothing is stored for a user who is gone.
      if (error instanceof UnknownOwnerError) throw unauthenticated(UnauthenticatedReason.TOKEN_INVALID);
      throw error;
    } finally {
      leave();
    }
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

/** The stream of a file whose part may have been cut off while the caller was being checked. */
function openStream(upload: FileUpload) {
  try {
    return upload.createReadStream();
  } catch {
    throw badUserInput('file', 'The upload was interrupted');
  }
}
