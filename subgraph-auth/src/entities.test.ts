import { randomUUID } from 'node:crypto';
import { type StartedAuthService, startAuthService } from './test-support';

const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id name email createdAt } }
}`;

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth.close();
});

/** Runs `work` and returns the SQL statements the service sent through its knex instance meanwhile. */
async function queriesDuring(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (query: { sql: string }) => seen.push(query.sql);
  auth.db.on('query', listener);
  try {
    await work();
  } finally {
    auth.db.off('query', listener);
  }
  return seen;
}

describe('User entity (federation)', () => {
  it('resolves N references with one query, in order, with null for unknown ids', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, () => auth.registerUser()));
    const unknown = randomUUID();
    const representations = [
      ...users.map((u) => ({ __typename: 'User', id: u.id })),
      { __typename: 'User', id: unknown },
      { __typename: 'User', id: "not-a-uuid' OR 1=1 --" },
      { __typename: 'User', id: users[0]!.id },
    ];
    let result: Awaited<ReturnType<StartedAuthService['graphql']>> | undefined;
    const queries = await queriesDuring(async () => {
      result = await auth.graphql(ENTITIES, { representations });
    });
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/from "auth"\."users"/);
    expect(result!.errors).toBeUndefined();
    const entities = (result!.data as { _entities: ({ id: string; email: string } | null)[] })._entities;
    expect(entities.map((e) => e?.id ?? null)).toEqual([...users.map((u) => u.id), null, null, users[0]!.id]);
    expect(entities[1]).toMatchObject({ email: users[1]!.email, name: users[1]!.name });
  });

  it('sends no query at all when no representation can be a user id', async () => {
    const queries = await queriesDuring(() =>
      auth.graphql(ENTITIES, { representations: [{ __typename: 'User', id: 'x' }] }),
    );
    expect(queries).toEqual([]);
  });

  it('publishes its SDL with the User key for composition', async () => {
    const result = await auth.graphql<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(result.data!._service.sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
    expect(result.data!._service.sdl).toMatch(
      /register\(name: String!, email: String!, password: String!\): AuthPayload!/,
    );
  });
});
