import type { Knex } from '@imagehub/db';

export interface BlobInput {
  sha256: string;
  contentType: string;
  bytes: Buffer;
}

export interface StoredBlob {
  sha256: string;
  contentType: string;
  byteSize: number;
  bytes: Buffer;
}

/**
 * Content-addressed storage of image bytes, deduplicated by sha256 and reference-counted. The
 * metadata transaction is passed in so that references move together with the image rows: an
 * S3-compatible backend would keep its reference counts in Postgres the same way and put/delete
 * objects around the transaction (put before, delete after commit).
 */
export interface BlobStore {
  /** Stores the bytes unless a blob with this sha256 exists, and adds one reference to it. */
  retain(trx: Knex.Transaction, blob: BlobInput): Promise<void>;
  /** Drops one reference; the blob is deleted when no reference is left. */
  release(trx: Knex.Transaction, sha256: string): Promise<void>;
  get(sha256: string): Promise<StoredBlob | undefined>;
}

interface BlobRow {
  sha256: string;
  content_type: string;
  byte_size: number;
  data: Buffer;
}

/**
 * Blobs in `image.blobs`. Every change to a blob row takes its row lock (UPDATE/INSERT/DELETE), so a
 * delete of the last reference and a concurrent upload of the same bytes serialise: the upload either
 * bumps the count before the delete sees it, or waits and then inserts the row afresh.
 */
export class PostgresBlobStore implements BlobStore {
  constructor(private readonly db: Knex) {}

  async retain(trx: Knex.Transaction, blob: BlobInput): Promise<void> {
    // Bump first, so the bytes of a blob we already have are not even sent to the server.
    const bumped = await trx('image.blobs')
      .where({ sha256: blob.sha256 })
      .increment('ref_count', 1)
      .returning('sha256');
    if (bumped.length > 0) return;
    await trx.raw(
      `insert into image.blobs (sha256, data, content_type, byte_size, ref_count)
       values (?, ?, ?, ?, 1)
       on conflict (sha256) do update set ref_count = image.blobs.ref_count + 1`,
      [blob.sha256, blob.bytes, blob.contentType, blob.bytes.length],
    );
  }

  async release(trx: Knex.Transaction, sha256: string): Promise<void> {
    const rows: { ref_count: number }[] = await trx('image.blobs')
      .where({ sha256 })
      .decrement('ref_count', 1)
      .returning('ref_count');
    if (rows[0] && rows[0].ref_count <= 0) {
      await trx('image.blobs').where({ sha256 }).andWhere('ref_count', '<=', 0).delete();
    }
  }

  async get(sha256: string): Promise<StoredBlob | undefined> {
    // node-postgres reads a bytea whole; fine for images capped at MAX_UPLOAD_BYTES.
    const row: BlobRow | undefined = await this.db('image.blobs')
      .select('sha256', 'content_type', 'byte_size', 'data')
      .where({ sha256 })
      .first();
    return row
      ? { sha256: row.sha256, contentType: row.content_type, byteSize: row.byte_size, bytes: row.data }
      : undefined;
  }
}
