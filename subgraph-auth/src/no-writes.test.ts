import { migrateLatest } from '@imagehub/db';
import { createScratchDatabase } from '@imagehub/db/test-support';
import { type StartedAuthService, startAuthService } from './test-support';

/**
 * Bad input must leave no trace. A database of its own makes "nothing written" checkable as
 * exact row counts, without other test files writing beside us.
 */
const TABLES = ['auth.users', 'auth.sessions', 'auth.refresh_tokens', 'auth.rate_limits'] as const;

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let auth: StartedAuthService;
beforeAll(async () => {
  scratch = await createScratchDatabase();
  await migrateLatest(scratch.db);
  auth = await startAuthService({ databaseUrl: scratch.url });
});
afterAll(async () => {
  await auth.close();
  await scratch.drop();
});

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    counts[table] = Number((await scratch.db(table).count({ n: '*' }))[0]!.n);
  }
  return counts;
}

const REGISTER = `mutation R($name: String!, $email: String!, $password: String!) {
  register(name: $name, email: $email, password: $password) { accessToken }
}`;
const LOGIN =
  'mutation L($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
const REFRESH = 'mutation F($token: String!) { refreshToken(refreshToken: $token) { accessToken } }';
const LOGOUT = 'mutation O($token: String!) { logout(refreshToken: $token) }';

describe('bad input', () => {
  it('is refused with its error code and writes no row in any auth table', async () => {
    const existing = await auth.registerUser({ email: 'taken@example.test' });
    const before = await rowCounts();
    expect(before['auth.users']).toBe(1);

    const valid = { name: 'Valid Name', email: 'fresh@example.test', password: 'a fine pass phrase' };
    const attempts: [string, Record<string, unknown>, string][] = [
      [REGISTER, { ...valid, password: 'short' }, 'BAD_USER_INPUT'],
      [REGISTER, { ...valid, password: `${'€'.repeat(24)}x` }, 'BAD_USER_INPUT'],
      [REGISTER, { ...valid, password: 'letmein123' }, 'BAD_USER_INPUT'],
      [REGISTER, { ...valid, password: 'FRESH@example.test' }, 'BAD_USER_INPUT'],
      [REGISTER, { ...valid, email: "'; DROP TABLE auth.users; --" }, 'BAD_USER_INPUT'],
      [REGISTER, { ...valid, email: 'x'.repeat(80_000) }, 'BAD_USER_INPUT'],
      [REGISTER, { ...valid, name: '' }, 'BAD_USER_INPUT'],
      [REGISTER, { ...valid, name: 'n'.repeat(80_000) }, 'BAD_USER_INPUT'],
      [REGISTER, { ...valid, email: 42 }, 'BAD_USER_INPUT'],
      [LOGIN, { email: 'y'.repeat(80_000), password: 'whatever1' }, 'BAD_USER_INPUT'],
      [LOGIN, { email: existing.email, password: `${'€'.repeat(24)}x` }, 'BAD_USER_INPUT'],
      // What cannot be a refresh token (too long, garbage) is an unknown one, as the contract says.
      [REFRESH, { token: 'z'.repeat(80_000) }, 'UNAUTHENTICATED'],
      [REFRESH, { token: "' OR 1=1 --" }, 'UNAUTHENTICATED'],
      [REFRESH, { token: 'not.a.token' }, 'UNAUTHENTICATED'],
    ];
    for (const [query, variables, code] of attempts) {
      const result = await auth.graphql(query, variables);
      expect({ variables: Object.keys(variables), code: result.errors?.[0]?.extensions?.code }).toEqual({
        variables: Object.keys(variables),
        code,
      });
    }
    // logout is idempotent: true for a token that names no session, and nothing written.
    expect((await auth.graphql(LOGOUT, { token: 'w'.repeat(80_000) })).data).toEqual({ logout: true });
    expect(await rowCounts()).toEqual(before);
  });

  it('a refused duplicate registration leaves the existing account untouched', async () => {
    const user = await auth.registerUser();
    const before = await rowCounts();
    const hash = await scratch.db('auth.users').where({ id: user.id }).first('password_hash', 'name');
    const again = await auth.graphql(REGISTER, {
      name: 'Impostor',
      email: user.email.toUpperCase(),
      password: 'another fine phrase',
    });
    expect(again.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
    const after = await rowCounts();
    // Only the registration counter may move (refused sign-ups count against the address).
    expect({ ...after, 'auth.rate_limits': 0 }).toEqual({ ...before, 'auth.rate_limits': 0 });
    expect(await scratch.db('auth.users').where({ id: user.id }).first('password_hash', 'name')).toEqual(
      hash,
    );
  });
});
