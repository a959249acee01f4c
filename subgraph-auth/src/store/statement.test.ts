/**
 * runWith against the real database: a statement Postgres aborts as a deadlock victim is run
 * again outside a transaction, since it wrote nothing (seen as INTERNAL_SERVER_ERROR on concurrent
 * logins of one account, whose throttle statements lock the same counters).
 */
import { randomUUID } from 'node:crypto';
import { createDb, type Knex, statementName } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { isDeadlock, runWith } from './statement';

const db = createDb({ url: testDatabaseUrl(), applicationName: 'statement-test', poolMax: 3 });
const table = `statement_test_${randomUUID().replaceAll('-', '')}`;

beforeAll(async () => {
  await db.raw(`create table ${table} (key text primary key, points int not null)`);
  await db.raw(`insert into ${table} values ('a', 0), ('b', 0)`);
});
afterAll(async () => {
  await db.raw(`drop table if exists ${table}`);
  await db.destroy();
});

/**
 * A deadlock whose victim is the runWith statement: a transaction holds row a; the statement locks
 * b and waits for a; then the transaction asks for b. The statement waited first, so its
 * deadlock_timeout (1 s) fires first and Postgres aborts it, after which the transaction gets b.
 *
 * Postgres checks for a deadlock once per wait, deadlock_timeout after it began. On a loaded
 * machine the transaction may ask for b more than that after the statement began to wait: the
 * statement's check then found no cycle yet, the transaction's own check finds it and the
 * transaction is the victim. That is not the case under test, so it is set up again (both rows
 * back to 0), a few times at most.
 */
async function deadlockAgainst(statement: () => Promise<unknown>) {
  for (let attempt = 1; ; attempt++) {
    await db.raw(`update ${table} set points = 0`);
    const trx = await db.transaction();
    let outcome: Promise<string> | undefined;
    try {
      await trx.raw(`update ${table} set points = points + 1 where key = 'a'`);
      outcome = statement().then(
        () => 'done',
        (error: unknown) => (isDeadlock(error) ? 'deadlock' : `other: ${String(error)}`),
      );
      // Until the statement holds b and waits for a.
      for (let tries = 0; tries < 100; tries++) {
        const waiting = await db.raw<{ rows: unknown[] }>(
          `select 1 from pg_stat_activity where application_name = 'statement-test' and wait_event_type = 'Lock'`,
        );
        if (waiting.rows.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await trx.raw(`update ${table} set points = points + 1 where key = 'b'`);
      await trx.commit();
      return await outcome;
    } catch (error) {
      await trx.rollback().catch(() => undefined);
      await outcome;
      if (isDeadlock(error) && attempt < 5) continue;
      throw error;
    }
  }
}

const bThenA = (on: Knex | Knex.Transaction) =>
  runWith(
    on,
    [
      {
        sql: `first as (update ${table} set points = points + 10 where key = 'b' returning key)`,
        bindings: [],
      },
    ],
    `select (select count(*) from first) as b,
            (select count(*) from (select key from ${table} where key = 'a' for update) as locked) as a`,
  );

describe('runWith', () => {
  it('runs a statement aborted as a deadlock victim again, which then succeeds', async () => {
    expect(await deadlockAgainst(() => bThenA(db))).toBe('done');
    const points = await db.raw<{ rows: { key: string; points: number }[] }>(
      `select key, points from ${table} order by key`,
    );
    // The transaction's two increments and the statement's ten, once: the aborted run wrote nothing.
    expect(points.rows).toEqual([
      { key: 'a', points: 1 },
      { key: 'b', points: 11 },
    ]);
  });

  it('prepares a statement once per connection and runs it from then on, with new values each time', async () => {
    // One connection, so that every call meets the statement prepared by the first.
    const single = createDb({
      url: testDatabaseUrl(),
      applicationName: 'statement-test-prepared',
      poolMax: 1,
    });
    try {
      const add = (key: string, points: number) =>
        runWith<{ points: number }>(
          single,
          [
            {
              sql: `added as (update ${table} set points = points + ? where key = ? returning points)`,
              bindings: [points, key],
            },
          ],
          'select points from added',
        );
      const before = await db.raw<{ rows: { key: string; points: number }[] }>(
        `select key, points from ${table} order by key`,
      );
      const [a, b] = before.rows.map((row) => row.points) as [number, number];
      expect(await add('a', 2)).toEqual([{ points: a + 2 }]);
      expect(await add('b', 3)).toEqual([{ points: b + 3 }]);
      expect(await add('a', 5)).toEqual([{ points: a + 7 }]);
      const prepared = await single.raw<{ rows: { name: string }[] }>(
        `select name from pg_prepared_statements where name like 'prepared\\_%'`,
      );
      const sql = `with added as (update ${table} set points = points + ? where key = ? returning points)\nselect points from added`;
      expect(prepared.rows).toEqual([{ name: statementName(sql) }]);
    } finally {
      await single.destroy();
    }
  });

  it('inside a transaction, leaves the deadlock to the caller (its transaction is aborted)', async () => {
    const outcome = await deadlockAgainst(() => db.transaction((trx) => bThenA(trx)));
    expect(outcome).toBe('deadlock');
  });
});
