import { createDb } from './connection';
import { runPrepared, statementName } from './prepared';
import { testDatabaseUrl } from './test-support';

/** runPrepared on the real database: each text is prepared once per connection and then only bound. */
describe('runPrepared', () => {
  // One connection, so that every call meets what the earlier ones prepared.
  const db = createDb({ url: testDatabaseUrl(), applicationName: 'prepared-test', poolMax: 1 });
  afterAll(() => db.destroy());

  const prepared = async () =>
    (
      await db.raw<{ rows: { name: string }[] }>(
        `select name from pg_prepared_statements where name like 'prepared\\_%' order by name`,
      )
    ).rows;

  it('runs a text with new values each time, prepared once under a name taken from the text', async () => {
    const byIds = 'select n from unnest(?::int[]) as n where n > ? order by n';
    expect(await runPrepared(db, byIds, [[1, 2, 3, 4], 2])).toEqual([{ n: 3 }, { n: 4 }]);
    expect(await runPrepared(db, byIds, [[7, 1], 0])).toEqual([{ n: 1 }, { n: 7 }]);
    expect(await runPrepared(db, byIds, [[], 0])).toEqual([]);
    expect((await prepared()).map((row) => row.name)).toEqual([statementName(byIds)]);

    const other = 'select ?::text as greeting';
    expect(await runPrepared(db, other, ['hello'])).toEqual([{ greeting: 'hello' }]);
    expect((await prepared()).map((row) => row.name).sort()).toEqual(
      [statementName(byIds), statementName(other)].sort(),
    );
  });

  it('gives different texts different names within the limit of a Postgres name', () => {
    const a = statementName('select 1');
    const b = statementName('select 2');
    expect(a).not.toBe(b);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(63);
  });

  it('leaves a failing statement an error for the caller and the connection usable', async () => {
    await expect(runPrepared(db, 'select 1 / ?::int as x', [0])).rejects.toMatchObject({ code: '22012' });
    expect(await runPrepared(db, 'select 1 / ?::int as x', [1])).toEqual([{ x: 1 }]);
  });
});
