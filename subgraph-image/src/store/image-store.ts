import { type Knex, runPrepared } from '@imagehub/db';
import { addToOutbox, envelope } from '@imagehub/messaging';
import type { ImageVariant } from '../signing';
import type { ProcessedImage } from '../upload/process-image';
import type { BlobStore, StoredBlob } from './blob-store';

export interface Image {
  id: string;
  ownerId: string;
  filename: string;
  contentType: string;
  byteSize: number;
  width: number;
  height: number;
  sha256: string;
  thumbnailSha256: string;
  createdAt: Date;
}

export interface StorageUsage {
  imageCount: number;
  /** Originals and thumbnails, as stored for this user (shared blobs count for each of their images). */
  usedBytes: number;
}

/** The image would take its owner past their quota; nothing was written. */
export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';
  constructor(
    readonly limitBytes: number,
    readonly usedBytes: number,
  ) {
    super(`The image does not fit in the storage quota of ${limitBytes} bytes (${usedBytes} bytes used)`);
  }
}

export interface CreateOptions {
  /** Refuse (QuotaExceededError) when the user's usage plus this image would pass it. */
  quotaBytes?: number;
}

/** The outbox the image service's events leave through (see @imagehub/messaging). */
const OUTBOX = 'image.outbox';

/** `image.stored` and `image.deleted` events: what other components may react to (version 1). */
export interface ImageEvent {
  imageId: string;
  ownerId: string;
  sha256: string;
}

export interface ImagePosition {
  createdAt: Date;
  id: string;
}

export interface ImagePage {
  images: Image[];
  hasNextPage: boolean;
}

interface ImageRow {
  id: string;
  owner_id: string;
  filename: string;
  content_type: string;
  byte_size: number;
  width: number;
  height: number;
  sha256: string;
  thumbnail_sha256: string;
  created_at: Date;
}

const COLUMNS = [
  'id',
  'owner_id',
  'filename',
  'content_type',
  'byte_size',
  'width',
  'height',
  'sha256',
  'thumbnail_sha256',
  'created_at',
] as const;

// The listing's two texts, fixed so that each is prepared once per connection (every gallery page
// and every federated read runs one): newest first, ties on created_at broken by id.
const LIST_BY_OWNER = `select ${COLUMNS.join(', ')} from image.images where owner_id = ?
  order by created_at desc, id desc limit ?`;
const LIST_BY_OWNER_AFTER = `select ${COLUMNS.join(', ')} from image.images
  where owner_id = ? and (created_at, id) < (?, ?)
  order by created_at desc, id desc limit ?`;

const toImage = (row: ImageRow): Image => ({
  id: row.id,
  ownerId: row.owner_id,
  filename: row.filename,
  contentType: row.content_type,
  byteSize: row.byte_size,
  width: row.width,
  height: row.height,
  sha256: row.sha256,
  thumbnailSha256: row.thumbnail_sha256,
  createdAt: row.created_at,
});

/** Serialises, per user, uploads and the deletion of all their images (until the transaction ends). */
async function lockOwner(trx: Knex.Transaction, ownerId: string): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`image-owner:${ownerId}`]);
}

export class UnknownOwnerError extends Error {
  override name = 'UnknownOwnerError';
}

export class ImageStore {
  constructor(
    private readonly db: Knex,
    private readonly blobs: BlobStore,
  ) {}

  /**
   * Blobs, the image row and its `image.stored` event, in the caller's transaction (the worker's,
   * which also settles the upload job): a failure anywhere leaves nothing behind. The owner must be
   * an existing user (image.user_ids, the one thing of auth.users this service may read): a validly
   * signed token can outlive its account. UnknownOwnerError otherwise.
   */
  async create(
    trx: Knex.Transaction,
    ownerId: string,
    filename: string,
    processed: ProcessedImage,
    options: CreateOptions = {},
  ): Promise<Image> {
    const { original, thumbnail } = processed;
    // One upload of a user at a time past this point (on every replica), so two parallel uploads
    // cannot both fit in the space that is left for one; and the owner is checked under the lock,
    // which the deletion of a user's images takes too, so no image is stored after that ran.
    await lockOwner(trx, ownerId);
    if (!(await trx('image.user_ids').where({ id: ownerId }).first('id'))) throw new UnknownOwnerError();
    if (options.quotaBytes !== undefined) {
      const { usedBytes } = await this.usage(ownerId, trx);
      if (usedBytes + original.bytes.length + thumbnail.bytes.length > options.quotaBytes) {
        throw new QuotaExceededError(options.quotaBytes, usedBytes);
      }
    }
    // Fixed lock order (by hash) so two uploads touching the same two blobs cannot deadlock.
    for (const blob of [original, thumbnail].sort((a, b) => a.sha256.localeCompare(b.sha256))) {
      await this.blobs.retain(trx, blob);
    }
    const [row] = await trx('image.images')
      .insert({
        owner_id: ownerId,
        filename,
        content_type: original.contentType,
        byte_size: original.bytes.length,
        width: original.width,
        height: original.height,
        sha256: original.sha256,
        thumbnail_sha256: thumbnail.sha256,
      })
      .returning(COLUMNS);
    const image = toImage(row as ImageRow);
    await addToOutbox(trx, OUTBOX, [
      {
        destination: { event: true },
        message: envelope<ImageEvent>('image.stored', {
          imageId: image.id,
          ownerId,
          sha256: image.sha256,
        }),
      },
    ]);
    return image;
  }

  /** Whether the user exists (image.user_ids): tokens can outlive their account. */
  async ownerExists(ownerId: string): Promise<boolean> {
    return (await this.db('image.user_ids').where({ id: ownerId }).first('id')) !== undefined;
  }

  async usage(ownerId: string, db: Knex = this.db): Promise<StorageUsage> {
    const [row] = await db('image.images as i')
      .join('image.blobs as t', 't.sha256', 'i.thumbnail_sha256')
      .where('i.owner_id', ownerId)
      .select(
        db.raw('count(*)::int as image_count'),
        db.raw('coalesce(sum(i.byte_size + t.byte_size), 0)::bigint as used_bytes'),
      );
    return { imageCount: Number(row?.image_count ?? 0), usedBytes: Number(row?.used_bytes ?? 0) };
  }

  /**
   * Deletes the owner's image, releases its blobs and adds its `image.deleted` event, in one
   * transaction; false when there is no such image of theirs.
   */
  async delete(id: string, ownerId: string): Promise<boolean> {
    return this.db.transaction(async (trx) => (await this.remove(trx, { id, owner_id: ownerId })).length > 0);
  }

  /**
   * Deletes every image of a user whose account is gone, in the caller's transaction, and answers
   * their ids. Waits for the user's uploads in progress (they hold the owner lock) so that none
   * commits an image after this ran; later ones find the account gone.
   */
  async deleteAllOf(trx: Knex.Transaction, ownerId: string): Promise<string[]> {
    await lockOwner(trx, ownerId);
    return this.remove(trx, { owner_id: ownerId });
  }

  /**
   * The one way images go: the rows, then one reference per original and thumbnail, and an
   * `image.deleted` event per image. Blobs that other images (of anyone, through deduplication) still
   * use stay; the last reference deletes the bytes. References are released in hash order, as uploads
   * take them, so the two cannot deadlock. The caller wakes the outbox relay after the commit.
   */
  private async remove(trx: Knex.Transaction, where: Partial<ImageRow>): Promise<string[]> {
    const rows: Pick<ImageRow, 'id' | 'owner_id' | 'sha256' | 'thumbnail_sha256'>[] = await trx(
      'image.images',
    )
      .where(where)
      .delete()
      .returning(['id', 'owner_id', 'sha256', 'thumbnail_sha256']);
    for (const sha256 of rows.flatMap((row) => [row.sha256, row.thumbnail_sha256]).sort()) {
      await this.blobs.release(trx, sha256);
    }
    if (rows.length > 0) {
      await addToOutbox(
        trx,
        OUTBOX,
        rows.map((row) => ({
          destination: { event: true },
          message: envelope<ImageEvent>('image.deleted', {
            imageId: row.id,
            ownerId: row.owner_id,
            sha256: row.sha256,
          }),
        })),
      );
    }
    return rows.map((row) => row.id);
  }

  async findOwned(ids: readonly string[], ownerId: string): Promise<Image[]> {
    const rows: ImageRow[] = await this.db('image.images')
      .select(COLUMNS)
      .whereIn('id', ids as string[])
      .andWhere({ owner_id: ownerId });
    return rows.map(toImage);
  }

  /** Newest first; ties on created_at broken by id, so every image appears exactly once across pages. */
  async listByOwner(ownerId: string, first: number, after?: ImagePosition): Promise<ImagePage> {
    const rows = after
      ? await runPrepared<ImageRow>(this.db, LIST_BY_OWNER_AFTER, [
          ownerId,
          after.createdAt,
          after.id,
          first + 1,
        ])
      : await runPrepared<ImageRow>(this.db, LIST_BY_OWNER, [ownerId, first + 1]);
    return { images: rows.slice(0, first).map(toImage), hasNextPage: rows.length > first };
  }

  /** How many images the owner has (a connection's totalCount, counted only when a client asks for it). */
  async countByOwner(ownerId: string): Promise<number> {
    const [row] = await this.db('image.images')
      .where({ owner_id: ownerId })
      .count<{ count: string }[]>('* as count');
    return Number(row?.count ?? 0);
  }

  /** The bytes of one variant with what the HTTP route needs to describe them. */
  async findVariant(
    id: string,
    variant: ImageVariant,
  ): Promise<{ image: Image; blob: StoredBlob } | undefined> {
    const [row]: ImageRow[] = await this.db('image.images').select(COLUMNS).where({ id });
    if (!row) return undefined;
    const image = toImage(row);
    const blob = await this.blobs.get(variant === 'original' ? image.sha256 : image.thumbnailSha256);
    return blob ? { image, blob } : undefined;
  }
}
