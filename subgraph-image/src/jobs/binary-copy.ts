import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from '@imagehub/db';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** A column value as COPY's binary format carries it. */
export type BinaryValue = { uuid: string } | { text: string } | { bytea: Buffer } | { int4: number };

// COPY BINARY's file header: signature, flags (no OIDs), header extension length (none).
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const TRAILER = Buffer.from([0xff, 0xff]);

/**
 * Inserts one row with `COPY ... FROM STDIN (FORMAT binary)` on the transaction's own connection.
 *
 * Why not an INSERT: pg sends a parameter inside its Bind message, which it builds by copying the
 * value into a growing buffer and then into the message, two more copies of a 5 MiB upload that
 * live until V8 gets round to collecting them (under concurrent uploads, tens of MiB of the image
 * API's RSS). COPY takes the bytea's own Buffer and writes it to the socket as it is.
 */
export async function copyRow(
  trx: Knex.Transaction,
  table: string,
  row: Record<string, BinaryValue>,
): Promise<void> {
  const columns = Object.keys(row);
  const chunks: Buffer[] = [HEADER, int16(columns.length)];
  for (const value of Object.values(row)) {
    const bytes = encode(value);
    chunks.push(int32(bytes.length), bytes);
  }
  chunks.push(TRAILER);
  // Knex hands a transaction's queries to the one connection it holds; this asks for that connection.
  const client = (await trx.client.acquireConnection()) as PoolClient;
  const sql = `copy ${table} (${columns.join(', ')}) from stdin (format binary)`;
  await pipeline(Readable.from(chunks, { objectMode: false }), client.query(copyFrom(sql)));
}

function encode(value: BinaryValue): Buffer {
  if ('bytea' in value) return value.bytea;
  if ('text' in value) return Buffer.from(value.text, 'utf8');
  if ('uuid' in value) return uuidBytes(value.uuid);
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value.int4);
  return bytes;
}

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a uuid: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

function int16(n: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeInt16BE(n);
  return bytes;
}

function int32(n: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(n);
  return bytes;
}
