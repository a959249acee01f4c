import type { Knex } from '@imagehub/db';

/**
 * Named parts of a WITH clause (`name as (...)`, comma-separated when several) and their bindings in
 * order. Stores hand these out so that writes of different stores go to Postgres as ONE statement:
 * one round trip instead of one per write plus BEGIN and COMMIT, and atomic all the same (a
 * statement commits whole or not at all). Every data-modifying part runs to completion whether or
 * not the final select reads it; all parts see the snapshot from before the statement, so one part
 * does not see the rows another inserts (a part that needs them selects from that part by name).
 * Names must be distinct across the parts of one statement (Postgres refuses duplicates).
 */
export interface WithParts {
  sql: string;
  bindings: readonly Knex.Value[];
}

/** A read (one row at most) that can ride along in another statement, and how its row is read. */
export interface RowRead<T> {
  /** A select; its columns come back as they are (left-joined: all null when it finds no row). */
  sql: string;
  bindings: readonly Knex.Value[];
  map(row: Record<string, unknown>): T | undefined;
}

/** Runs `with <parts> <select>` as one statement; `select` may read any part by name. */
export async function runWith<Row>(
  db: Knex | Knex.Transaction,
  parts: readonly WithParts[],
  select: string,
  bindings: readonly Knex.Value[] = [],
): Promise<Row[]> {
  const result = await db.raw<{ rows: Row[] }>(`with ${parts.map((p) => p.sql).join(',\n')}\n${select}`, [
    ...parts.flatMap((p) => p.bindings),
    ...bindings,
  ]);
  return result.rows;
}
