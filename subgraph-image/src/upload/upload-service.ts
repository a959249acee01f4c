import { badUserInput, codedError, ErrorCode } from '@imagehub/service-kit';
import type { FileUpload } from 'graphql-upload-minimal';
import type { Bus } from '../bus';
import { JobDeadlineError, type JobWaiter } from '../jobs/job-waiter';
import type { UploadJobs } from '../jobs/upload-jobs';
import type { Image, ImageStore } from '../store/image-store';
import type { UploadAdmission } from './admission';
import { fileTooLarge, formFailure, quotaExceeded } from './errors';
import { sanitizeFilename } from './filename';
import { type ImageLimits, inspectImage } from './process-image';
import { readLimited } from './read-limited';
import { BufferInUse, type UploadBuffers } from './upload-buffers';

export interface UploadLimits {
  maxUploadBytes: number;
  maxImagePixels: number;
  /** Per-format pixel limits, frame count and time limit of the decoders. */
  imageBudget: Omit<ImageLimits, 'maxPixels'>;
  uploads: { quotaBytes: number | undefined };
  /** How long an upload waits for a worker before it is cancelled. */
  uploadDeadlineMs: number;
}

/**
 * When to try again: a broker that went away is usually back (and reconnected to) within seconds, and
 * a worker that missed the deadline is as likely busy as gone; a client retrying sooner adds load.
 */
export const PROCESSING_RETRY_AFTER_SEC = 5;

const processingUnavailable = (why: string) =>
  codedError(ErrorCode.SERVICE_UNAVAILABLE, `Image processing is unavailable (${why}); try again later`, {
    retryAfter: PROCESSING_RETRY_AFTER_SEC,
  });

/**
 * The upload pipeline as the client sees it, unchanged: one mutation that answers with the finished
 * image or a coded error. Here, what is cheap: admit the caller (uploads in flight, attempts per
 * minute, quota not used up), receive the file (size-capped), check its type and declared dimensions
 * from the headers. Then the original goes to quarantine with a job and its outbox message (one
 * transaction), a worker decodes, re-encodes and stores it (worker/), and this waits for the outcome
 * until the deadline. The deadline, or the client going away, cancels the job: nothing is stored.
 */
export class UploadService {
  constructor(
    private readonly images: ImageStore,
    private readonly jobs: UploadJobs,
    private readonly waiter: JobWaiter,
    private readonly bus: Bus,
    private readonly admission: UploadAdmission,
    private readonly limits: UploadLimits,
    private readonly buffers: UploadBuffers,
  ) {}

  async upload(ownerId: string, file: Promise<FileUpload>, signal: AbortSignal): Promise<Image> {
    const { maxUploadBytes, maxImagePixels, imageBudget, uploadDeadlineMs } = this.limits;
    const { quotaBytes } = this.limits.uploads;
    const upload = await receive(file, maxUploadBytes);
    // Both checks come before a byte of the file is read.
    const leave = await this.admission.enter(ownerId);
    try {
      if (quotaBytes !== undefined) {
        const { usedBytes } = await this.images.usage(ownerId);
        if (usedBytes >= quotaBytes) throw quotaExceeded(quotaBytes, usedBytes);
      }
      const { leaseMs } = this.waiter;
      const { jobId, now } = await this.buffers.use(async (buffer) => {
        const bytes = await readLimited(openStream(upload), buffer);
        const { type } = await inspectImage(bytes, { maxPixels: maxImagePixels, ...imageBudget });
        // With the broker away the job would only wait in the outbox: say so now, store nothing.
        if (!(await this.bus.transport.isReady()))
          throw processingUnavailable('the message broker is unreachable');
        signal.throwIfAborted();
        const now = Date.now();
        try {
          const filename = sanitizeFilename(upload.filename, type);
          return { jobId: await this.jobs.enqueue(ownerId, filename, bytes, leaseMs), now };
        } catch (error) {
          // The bytes may still sit in a socket's write queue: this buffer is not reused.
          throw new BufferInUse(error);
        }
      });
      const deadline = now + uploadDeadlineMs;
      this.bus.relay.wake();
      try {
        const outcome = await this.waiter.wait(jobId, deadline, now + leaseMs, signal);
        if (outcome.error) throw outcome.error;
        const [image] = outcome.image
          ? [outcome.image]
          : outcome.imageId
            ? await this.images.findOwned([outcome.imageId], ownerId)
            : [];
        // Stored, then deleted by its owner in the meantime.
        if (!image)
          throw codedError(ErrorCode.NOT_FOUND, 'The image was deleted while it was being uploaded');
        return image;
      } catch (error) {
        if (error instanceof JobDeadlineError) throw processingUnavailable('no worker finished it in time');
        // The client is told it failed, so it must not appear later (a no-op for a finished job).
        await this.jobs.cancel(jobId).catch(() => {});
        throw error;
      } finally {
        await this.jobs.forget(jobId).catch(() => {});
      }
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
    const failure = formFailure(error);
    if (failure) throw failure;
    if ((error as { status?: number }).status === 413) {
      throw fileTooLarge(maxBytes);
    }
    throw badUserInput('file', 'A file upload (multipart request) is required');
  }
}

/** The stream of a file whose part may have been cut off while the caller was being checked. */
function openStream(upload: FileUpload) {
  try {
    return upload.createReadStream();
  } catch (error) {
    throw formFailure(error) ?? badUserInput('file', 'The upload was interrupted');
  }
}
