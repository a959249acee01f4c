import { badUserInput, isUuid } from '@imagehub/service-kit';
import type { Image, ImagePage, ImagePosition } from './store/image-store';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * `first` above the cap is clamped to it (clients asking for "everything" get the maximum page);
 * a negative `first` is a client bug and says so. `first: 0` is allowed: it returns just totalCount.
 */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (first < 0) throw badUserInput('first', '`first` must not be negative');
  return Math.min(first, MAX_PAGE_SIZE);
}

/** Opaque to clients; inside, the keyset position (created_at, id) of the last image of a page. */
export function encodeCursor(image: Pick<Image, 'createdAt' | 'id'>): string {
  return Buffer.from(`${image.createdAt.toISOString()}|${image.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): ImagePosition | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const invalid = () => badUserInput('after', 'Invalid cursor');
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  const [iso, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso ?? '');
  // Only what encodeCursor writes: a valid instant in toISOString's four-digit-year form. A date
  // JavaScript accepts may still be outside Postgres' range (-271821 is), which the query would
  // fail on as an internal error.
  if (extra !== undefined || !isUuid(id) || !isIsoInstant(createdAt, iso)) throw invalid();
  return { createdAt, id };
}

function isIsoInstant(date: Date, text: string | undefined): boolean {
  return !Number.isNaN(date.getTime()) && /^\d{4}-/.test(text ?? '') && date.toISOString() === text;
}

/**
 * An ImageConnection as its resolvers receive it. The total is a separate query, run only when the
 * client selects `totalCount` (the federated read does not): a page costs one round trip, not two.
 */
export interface ImageConnectionModel {
  edges: Array<{ cursor: string; node: Image }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  countAll(): Promise<number>;
}

export function toConnection(page: ImagePage, countAll: () => Promise<number>): ImageConnectionModel {
  const edges = page.images.map((node) => ({ cursor: encodeCursor(node), node }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    countAll,
  };
}
