import { randomBytes, randomUUID } from 'node:crypto';
import { createDb } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { DuplicateEmailError, UserStore } from './users';

const db = createDb({ url: testDatabaseUrl(), applicationName: 'users-store-test', poolMax: 2 });
const store = new UserStore(db);
afterAll(async () => {
  await db.destroy();
});

const create = (email: string) =>
  db.transaction((trx) => store.create({ email, name: 'Store Test', passwordHash: 'not-a-real-hash' }, trx));

describe('UserStore', () => {
  it('turns the unique index on lower(email) into DuplicateEmailError, whatever the stored case', async () => {
    const local = `Mixed.${randomBytes(4).toString('hex')}`;
    // Written behind normalisation's back: the index alone must still refuse the second one.
    await create(`${local}@Example.test`);
    await expect(create(`${local.toLowerCase()}@example.TEST`)).rejects.toBeInstanceOf(DuplicateEmailError);
  });

  it('finds many users in one query and skips ids that are not UUIDs', async () => {
    const created = await Promise.all([0, 1, 2].map((i) => create(`many-${i}-${randomUUID()}@example.test`)));
    const queries: string[] = [];
    const listener = (q: { sql: string }) => queries.push(q.sql);
    db.on('query', listener);
    const found = await store.findByIds([...created.map((u) => u.id), randomUUID(), 'nope', "1' or '1'='1"]);
    db.off('query', listener);
    expect(queries).toHaveLength(1);
    expect(found.map((u) => u.id).sort()).toEqual(created.map((u) => u.id).sort());
    expect(found[0]!.createdAt).toBeInstanceOf(Date);
  });
});
