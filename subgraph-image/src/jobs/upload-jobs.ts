import { randomUUID } from 'node:crypto';
import type { Knex } from '@imagehub/db';
import { addToOutbox, type Envelope, envelope } from '@imagehub/messaging';
import { codedError, ErrorCode } from '@imagehub/service-kit';
import type { GraphQLError } from 'graphql';
import type { Image } from '../store/image-store';
import { copyRow } from './binary-copy';

/** The service's outbox (image.outbox): jobs and events leave through it, in the transaction that made them. */
export const OUTBOX_TABLE = 'image.outbox';
/** Workers notify on this channel (payload: the job id) when a job has an outcome. */
export const JOB_CHANNEL = 'image_upload_jobs';
export const PROCESS_IMAGE = 'image.process';

export interface ProcessImageJob {
  jobId: string;
  ownerId: string;
}

export type JobStatus = 'pending' | 'stored' | 'failed' | 'cancelled';

export interface JobOutcome {
  status: JobStatus;
  imageId: string | null;
  /** The stored image itself, when the outcome came with the worker's notification. */
  image?: Image;
  /** The coded error a failed job answers with. */
  error: GraphQLError | null;
}

/** A coded error as a job row keeps it, to be thrown again by the waiting mutation. */
export interface StoredError {
  message: string;
  extensions: Record<string, unknown>;
}

export function toStoredError(error: GraphQLError): StoredError {
  return { message: error.message, extensions: { ...error.extensions } };
}

function fromStoredError(stored: StoredError): GraphQLError {
  const { code, ...rest } = stored.extensions;
  return codedError((code as ErrorCode) ?? ErrorCode.INTERNAL_SERVER_ERROR, stored.message, rest);
}

interface JobRow {
  status: JobStatus;
  image_id: string | null;
  error: StoredError | null;
}

/**
 * Upload jobs (image.upload_jobs) and their quarantined originals (image.quarantine, same id), as
 * the image subgraph sees them: queue one, read its outcome, cancel it, forget it.
 */
export class UploadJobs {
  constructor(
    private readonly db: Knex,
    private readonly queue: string,
  ) {}

  /**
   * The original, the job row and the job's outbox message in one transaction: either the job exists
   * and will be published (the relay), or nothing was written. A worker may store it only until
   * `leaseMs` from now, unless the waiter renews it (`renew`).
   */
  async enqueue(ownerId: string, filename: string, bytes: Buffer, leaseMs: number): Promise<string> {
    const id = randomUUID();
    const job: Envelope<ProcessImageJob> = envelope(PROCESS_IMAGE, { jobId: id, ownerId });
    await this.db.transaction(async (trx) => {
      await trx('image.upload_jobs').insert({
        id,
        owner_id: ownerId,
        deadline: trx.raw(`now() + ? * interval '1 millisecond'`, [leaseMs]),
      });
      await copyRow(trx, 'image.quarantine', {
        id: { uuid: id },
        owner_id: { uuid: ownerId },
        filename: { text: filename },
        data: { bytea: bytes },
        byte_size: { int4: bytes.length },
      });
      await addToOutbox(trx, OUTBOX_TABLE, [{ destination: { queue: this.queue }, message: job }]);
    });
    return id;
  }

  /** Extends a pending job's lease: its waiter is still there. */
  async renew(id: string, leaseMs: number): Promise<void> {
    await this.db('image.upload_jobs')
      .where({ id, status: 'pending' })
      .update({ deadline: this.db.raw(`now() + ? * interval '1 millisecond'`, [leaseMs]) });
  }

  async outcome(id: string): Promise<JobOutcome | undefined> {
    const row: JobRow | undefined = await this.db('image.upload_jobs')
      .where({ id })
      .first('status', 'image_id', 'error');
    return row && toOutcome(row);
  }

  /**
   * Cancels a job that no worker has finished: true when it was still pending (then nothing will
   * ever be stored for it), false when a worker got there first (its outcome stands).
   */
  async cancel(id: string): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const cancelled = await trx('image.upload_jobs')
        .where({ id, status: 'pending' })
        .update({ status: 'cancelled', finished_at: trx.fn.now() })
        .returning('id');
      await trx('image.quarantine').where({ id }).delete();
      return cancelled.length > 0;
    });
  }

  /** Once the waiting mutation has answered, the job row has no further use. */
  async forget(id: string): Promise<void> {
    await this.db('image.upload_jobs').where({ id }).delete();
  }

  /**
   * Jobs whose waiter is gone (its process died) long past their deadline: no worker stores them
   * any more (the deadline), so rows and quarantined originals can go (cascade).
   */
  async sweep(graceMs: number): Promise<number> {
    return this.db('image.upload_jobs')
      .where('deadline', '<', this.db.raw(`now() - ? * interval '1 millisecond'`, [graceMs]))
      .delete();
  }
}

/**
 * What a worker's NOTIFY carries: the outcome itself (under NOTIFY's 8000-byte limit), so the waiter
 * can answer even if the database went away right after the worker's commit.
 */
export interface JobNotification {
  id: string;
  status: JobStatus;
  image: Image | null;
  error: StoredError | null;
}

export function outcomeOf(notification: JobNotification): JobOutcome {
  const image = notification.image && {
    ...notification.image,
    createdAt: new Date(notification.image.createdAt),
  };
  return {
    status: notification.status,
    imageId: image?.id ?? null,
    ...(image ? { image } : {}),
    error: notification.error ? fromStoredError(notification.error) : null,
  };
}

function toOutcome(row: JobRow): JobOutcome {
  return {
    status: row.status,
    imageId: row.image_id,
    error: row.error ? fromStoredError(row.error) : null,
  };
}
