import type { Knex } from '@imagehub/db';
import type { Envelope } from '@imagehub/messaging';
import { badUserInput, type Logger, UnauthenticatedReason, unauthenticated } from '@imagehub/service-kit';
import { GraphQLError } from 'graphql';
import {
  JOB_CHANNEL,
  type JobNotification,
  type JobStatus,
  type ProcessImageJob,
  type StoredError,
  toStoredError,
} from '../jobs/upload-jobs';
import { type Image, type ImageStore, QuotaExceededError, UnknownOwnerError } from '../store/image-store';
import { quotaExceeded } from '../upload/errors';
import type { Limiter } from '../upload/limiter';
import { type ImageLimits, type ProcessedImage, processImage } from '../upload/process-image';

export interface UploadProcessorOptions {
  db: Knex;
  images: ImageStore;
  /** The decoders: `concurrency` slots, queued fairly per user. */
  decoders: Limiter;
  limits: ImageLimits;
  quotaBytes: number | undefined;
  logger?: Logger;
  /** Called after a commit that added an event to the outbox (wakes the relay). */
  onCommitted?: () => void;
  /** The decode itself; tests put a crashing one in a worker process of their own. */
  process?: (bytes: Buffer, limits: ImageLimits) => Promise<ProcessedImage>;
}

type Result = { processed: ProcessedImage } | { error: GraphQLError };

/** A poison image: workers died on it or failed on it until it was dead-lettered. */
export const poisonImage = () =>
  badUserInput('file', 'The image could not be processed (it failed every attempt); it was not stored');

/**
 * What a worker does with one upload job, idempotently: a job that is no longer pending (finished,
 * cancelled by its waiter, or gone) or past its deadline stores nothing, so a redelivery after a
 * commit, or a job whose client was already told it failed, changes nothing. The outcome (the image,
 * or the coded error the client gets), the `image.stored` event and the deletion of the quarantined
 * original are one transaction, which notifies the waiter. Anything else that goes wrong (the
 * database away) throws: the transport redelivers the job.
 */
export class UploadProcessor {
  constructor(private readonly options: UploadProcessorOptions) {}

  /** The job queue's handler. */
  handle = async (message: Envelope): Promise<void> => {
    const { jobId, ownerId } = message.data as ProcessImageJob;
    const { decoders, limits } = this.options;
    const result = await decoders.run(
      async (): Promise<Result | undefined> => {
        // Read in the decoder's turn, so jobs waiting for it hold no bytes and cancelled ones cost nothing.
        const original = await this.pendingOriginal(jobId);
        if (!original) return undefined;
        try {
          return { processed: await (this.options.process ?? processImage)(original, limits) };
        } catch (error) {
          // A coded error is the image's verdict (not an image, too many pixels, too slow): final.
          if (error instanceof GraphQLError && typeof error.extensions.code === 'string') return { error };
          throw error;
        }
      },
      { key: ownerId },
    );
    if (result) await this.settle(jobId, result);
  };

  /** The dead-letter queue's handler: the job failed every attempt, its client is told so. */
  handleDeadLetter = async (message: Envelope): Promise<void> => {
    const { jobId } = message.data as ProcessImageJob;
    this.options.logger?.warn({ jobId }, 'upload job dead-lettered: failed as a poison image');
    await this.settle(jobId, { error: poisonImage() });
  };

  /** The quarantined bytes of a job a worker may still store; undefined otherwise. */
  private async pendingOriginal(jobId: string): Promise<Buffer | undefined> {
    const { db } = this.options;
    const row: { data: string } | undefined = await db('image.upload_jobs as j')
      .join('image.quarantine as q', 'q.id', 'j.id')
      .where('j.id', jobId)
      .andWhere('j.status', 'pending')
      .andWhere('j.deadline', '>', db.fn.now())
      // As base64 text, not bytea: node-postgres reads results as text (its binary mode mangles bytea),
      // and bytea's text form is hex, 2 characters a byte. Base64 costs Postgres the same to encode
      // and this process half as much to receive and decode (5 MiB: ~16 instead of ~35 ms of CPU).
      // Buffer.from skips the line breaks Postgres puts in every 76 characters.
      .first(db.raw(`encode(q.data, 'base64') as data`));
    if (!row) await this.settle(jobId, undefined);
    return row && Buffer.from(row.data, 'base64');
  }

  /**
   * Ends a job in one transaction: the image and its event when `result` has one and the job may
   * still be stored, the coded error when it failed; the quarantined original goes whatever happens.
   * `undefined`: nothing to store (cancelled, finished, or past its deadline).
   */
  async settle(jobId: string, result: Result | undefined): Promise<void> {
    const { db, images, quotaBytes } = this.options;
    let committedImage = false;
    await db.transaction(async (trx) => {
      const job:
        | { status: JobStatus; owner_id: string; in_time: boolean; filename: string | null }
        | undefined = await trx('image.upload_jobs as j')
        .leftJoin('image.quarantine as q', 'q.id', 'j.id')
        .where('j.id', jobId)
        .forUpdate('j')
        .first('j.status', 'j.owner_id', 'q.filename', trx.raw('j.deadline > now() as in_time'));
      await trx('image.quarantine').where({ id: jobId }).delete();
      if (job?.status !== 'pending') return;
      let status: JobStatus;
      let stored: Image | null = null;
      let error: StoredError | null = null;
      if (!job.in_time || !result) {
        status = 'cancelled';
      } else if ('error' in result) {
        status = 'failed';
        error = toStoredError(result.error);
      } else {
        try {
          // A savepoint: a refusal below rolls back what the store wrote, and the failure is still recorded.
          const image = await trx.transaction((inner) =>
            images.create(inner, job.owner_id, job.filename ?? 'image', result.processed, { quotaBytes }),
          );
          status = 'stored';
          stored = image;
        } catch (refusal) {
          status = 'failed';
          error = toStoredError(codedRefusal(refusal));
        }
      }
      await trx('image.upload_jobs')
        .where({ id: jobId })
        .update({ status, image_id: stored?.id ?? null, error, finished_at: trx.fn.now() });
      const notification: JobNotification = { id: jobId, status, image: stored, error };
      await trx.raw('select pg_notify(?, ?)', [JOB_CHANNEL, JSON.stringify(notification)]);
      committedImage = stored !== null;
    });
    if (committedImage) this.options.onCommitted?.();
  }
}

/** What the client is told when the store refuses the image; anything else is a fault (redelivery). */
function codedRefusal(error: unknown): GraphQLError {
  if (error instanceof QuotaExceededError) return quotaExceeded(error.limitBytes, error.usedBytes);
  // A validly signed token can outlive its account; nothing is stored for a user who is gone.
  if (error instanceof UnknownOwnerError) return unauthenticated(UnauthenticatedReason.TOKEN_INVALID);
  throw error;
}
