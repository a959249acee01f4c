import { randomUUID } from 'node:crypto';
import { type StartedAuthService, startAuthService } from './test-support';

const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id name createdAt } }
}`;
const WITH_EMAIL = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id name email } }
}`;

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth.close();
});

/**
 * The outbox relay polls through the same knex instance about once a second, so it can land in any
 * window: its statements on auth.outbox, and the transaction around them when another test file of
 * this database left rows there, are left out of the count (resolving entities uses neither).
 */
const BACKGROUND_POLL = /"auth"\."outbox"|^(BEGIN|COMMIT|ROLLBACK);?$/i;

/** Runs `work` and returns the SQL statements it sent through the service's knex instance meanwhile. */
async function queriesDuring(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (query: { sql: string }) => {
    if (!BACKGROUND_POLL.test(query.sql)) seen.push(query.sql);
  };
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
    expect(queries[0]).toMatch(/from auth\.users where id = any/);
    expect(result!.errors).toBeUndefined();
    const entities = (result!.data as { _entities: ({ id: string; name: string } | null)[] })._entities;
    expect(entities.map((e) => e?.id ?? null)).toEqual([...users.map((u) => u.id), null, null, users[0]!.id]);
    expect(entities[1]).toMatchObject({ name: users[1]!.name });
  });

  it('shows an email only to the user themself', async () => {
    const [ada, eve] = await Promise.all([auth.registerUser(), auth.registerUser()]);
    const representations = [{ __typename: 'User', id: ada.id }];
    const own = await auth.graphql(
      WITH_EMAIL,
      { representations },
      { authorization: `Bearer ${ada.accessToken}` },
    );
    expect(own.errors).toBeUndefined();
    expect(own.data).toEqual({ _entities: [{ id: ada.id, name: ada.name, email: ada.email }] });

    const other = await auth.graphql(
      WITH_EMAIL,
      { representations },
      { authorization: `Bearer ${eve.accessToken}` },
    );
    expect(other.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(other.data)).not.toContain(ada.email);

    const anonymous = await auth.graphql(WITH_EMAIL, { representations });
    expect(anonymous.errors?.map((e) => e.extensions)).toEqual([
      { code: 'UNAUTHENTICATED', reason: 'TOKEN_MISSING' },
    ]);
    expect(JSON.stringify(anonymous.data)).not.toContain(ada.email);
  });

  it('refuses malformed representations with BAD_USER_INPUT', async () => {
    for (const representations of [[{}], [{ __typename: 'Query' }], [42]]) {
      const result = await auth.graphql(ENTITIES, { representations });
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
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
