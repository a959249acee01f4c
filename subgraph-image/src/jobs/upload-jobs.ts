import { randomUUID } from 'node:crypto';
import type { Knex } from '@imagehub/db';
import { addToOutbox, type Envelope, envelope } from '@imagehub/messaging';
import { codedError, ErrorCode } from '@imagehub/service-kit';
import type { GraphQLError } from 'graphql';

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
   * and will be published (the relay), or nothing was written.
   */
  async enqueue(ownerId: string, filename: string, bytes: Buffer, deadlineMs: number): Promise<string> {
    const id = randomUUID();
    const job: Envelope<ProcessImageJob> = envelope(PROCESS_IMAGE, { jobId: id, ownerId });
    await this.db.transaction(async (trx) => {
      await trx('image.upload_jobs').insert({
        id,
        owner_id: ownerId,
        deadline: trx.raw(`now() + ? * interval '1 millisecond'`, [deadlineMs]),
      });
      await trx('image.quarantine').insert({
        id,
        owner_id: ownerId,
        filename,
        data: bytes,
        byte_size: bytes.length,
      });
      await addToOutbox(trx, OUTBOX_TABLE, [{ destination: { queue: this.queue }, message: job }]);
    });
    return id;
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

function toOutcome(row: JobRow): JobOutcome {
  return {
    status: row.status,
    imageId: row.image_id,
    error: row.error ? fromStoredError(row.error) : null,
  };
}
