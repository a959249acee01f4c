import { createDb } from './connection';
import { testDatabaseUrl } from './test-support';

/**
 * Image bytes (stored blobs, quarantined originals) are already compressed: Postgres' default storage
 * for bytea (EXTENDED) would try pglz on every value first, for nothing. The migrations set EXTERNAL
 * (out of line, never compressed); these fail if a migration brings compression back.
 */
describe('storage of image bytes', () => {
  const db = createDb({ url: testDatabaseUrl(), applicationName: 'test', poolMax: 1 });
  afterAll(() => db.destroy());

  it('is EXTERNAL (out of line, uncompressed) for every bytea column of the image schema', async () => {
    const columns: { column: string; storage: string }[] = (
      await db.raw(`
        select c.relname || '.' || a.attname as column, a.attstorage as storage
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'image' and c.relkind = 'r' and a.atttypid = 'bytea'::regtype
          and a.attnum > 0 and not a.attisdropped
        order by 1`)
    ).rows;
    expect(columns).toEqual([
      { column: 'blobs.data', storage: 'e' },
      { column: 'quarantine.data', storage: 'e' },
    ]);
  });

  it('leaves even highly compressible bytes uncompressed', async () => {
    const zeros = Buffer.alloc(256 * 1024);
    await db
      .transaction(async (trx) => {
        await trx('image.blobs').insert({
          sha256: 'f'.repeat(64),
          data: zeros,
          content_type: 'image/png',
          byte_size: zeros.length,
          ref_count: 1,
        });
        const row = await trx('image.blobs')
          .where({ sha256: 'f'.repeat(64) })
          .first(
            trx.raw('pg_column_compression(data) as compression'),
            trx.raw('pg_column_size(data) as size'),
          );
        expect(row).toEqual({ compression: null, size: zeros.length });
        throw new Rollback();
      })
      .catch((error) => {
        if (!(error instanceof Rollback)) throw error;
      });
  });
});

/** Ends the transaction above without leaving its row in the shared test database. */
class Rollback extends Error {}
