import { randomUUID } from 'node:crypto';
import { createDb, type Knex } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { copyRow } from './binary-copy';

describe('copyRow (COPY FROM STDIN, binary)', () => {
  let db: Knex;
  beforeAll(async () => {
    db = createDb({ url: testDatabaseUrl(), applicationName: 'binary-copy-test', poolMax: 1 });
    await db.raw(`
      create temporary table copied (
        id uuid primary key,
        name text not null,
        data bytea not null,
        size integer not null check (size > 0)
      )`);
  });
  afterAll(() => db.destroy());

  it('stores every column type it writes exactly as given, inside the transaction', async () => {
    const id = randomUUID();
    // Every byte value, and text beyond ASCII.
    const data = Buffer.from(Array.from({ length: 256 * 3 }, (_, i) => i % 256));
    const name = 'Grüße, 写真 🖼.png';
    await db.transaction(async (trx) => {
      await copyRow(trx, 'copied', {
        id: { uuid: id },
        name: { text: name },
        data: { bytea: data },
        size: { int4: data.length },
      });
      // Visible to the transaction's next statement: COPY ran on its connection.
      expect((await trx('copied').where({ id }).first('id'))?.id).toBe(id);
    });
    const row = await db('copied').where({ id }).first();
    expect(row).toEqual({ id, name, data, size: data.length });
  });

  it('fails the whole transaction when Postgres refuses the row, and the connection stays usable', async () => {
    const id = randomUUID();
    await expect(
      db.transaction(async (trx) => {
        await trx('copied').insert({ id, name: 'first', data: Buffer.from([1]), size: 1 });
        await copyRow(trx, 'copied', {
          id: { uuid: randomUUID() },
          name: { text: 'refused' },
          data: { bytea: Buffer.from([2]) },
          size: { int4: 0 },
        });
      }),
    ).rejects.toThrow(/check constraint/);
    expect(await db('copied').where({ id }).first()).toBeUndefined();
    // The one pooled connection, after a failed COPY, still answers.
    expect((await db.raw('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('refuses a value that is not a uuid before anything is sent', async () => {
    await expect(
      db.transaction((trx) =>
        copyRow(trx, 'copied', {
          id: { uuid: 'not-a-uuid' },
          name: { text: 'x' },
          data: { bytea: Buffer.from([1]) },
          size: { int4: 1 },
        }),
      ),
    ).rejects.toThrow('not a uuid');
  });
});
