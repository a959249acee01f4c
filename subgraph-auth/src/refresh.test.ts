import { createHash } from 'node:crypto';
import { type RegisteredUser, type StartedAuthService, startAuthService } from './test-support';

const REFRESH = `mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken tokenType expiresIn user { id } }
}`;
const LOGOUT = 'mutation Logout($token: String!) { logout(refreshToken: $token) }';
const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { refreshToken }
}`;

interface Pair {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: { id: string };
}

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth.close();
});

const refresh = (token: string) => auth.graphql<{ refreshToken: Pair }>(REFRESH, { token });
const logout = (token: string) => auth.graphql<{ logout: boolean }>(LOGOUT, { token });
const login = async (user: RegisteredUser) =>
  (
    await auth.graphql<{ login: { refreshToken: string } }>(LOGIN, {
      email: user.email,
      password: user.password,
    })
  ).data!.login.refreshToken;
const sha256 = (token: string) => createHash('sha256').update(token).digest();

function expectInvalid(result: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] }) {
  expect(result.data).toBeNull();
  expect(result.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_INVALID' });
}

describe('refreshToken', () => {
  it('returns a new pair and makes the old refresh token unusable', async () => {
    const user = await auth.registerUser();
    const first = await refresh(user.refreshToken);
    expect(first.errors).toBeUndefined();
    const pair = first.data!.refreshToken;
    expect(pair).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { id: user.id } });
    expect(pair.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.refreshToken).not.toBe(user.refreshToken);
    const me = await auth.graphql('{ me { id } }', undefined, {
      authorization: `Bearer ${pair.accessToken}`,
    });
    expect(me.data).toEqual({ me: { id: user.id } });
    // The successor keeps working for as long as it is not reused.
    expect((await refresh(pair.refreshToken)).errors).toBeUndefined();
  });

  it('stores only the SHA-256 of each token, never the token', async () => {
    const user = await auth.registerUser();
    const rows = await auth
      .db('auth.refresh_tokens as t')
      .join('auth.sessions as s', 's.id', 't.session_id')
      .where('s.user_id', user.id)
      .select('t.*');
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).toEqual(sha256(user.refreshToken));
    expect(JSON.stringify(rows)).not.toContain(user.refreshToken);
    expect(new Date(rows[0].expires_at).getTime() - new Date(rows[0].created_at).getTime()).toBe(
      30 * 24 * 3600 * 1000,
    );
  });

  it('revokes the whole session when a rotated token is presented again', async () => {
    const user = await auth.registerUser();
    const next = (await refresh(user.refreshToken)).data!.refreshToken.refreshToken;
    expectInvalid(await refresh(user.refreshToken));
    // The thief's replay also kills the legitimate successor.
    expectInvalid(await refresh(next));
    const session = await auth.db('auth.sessions').where({ user_id: user.id }).first('revoked_at');
    expect(session.revoked_at).toBeInstanceOf(Date);
  });

  it('leaves the user’s other sessions alone when one is revoked', async () => {
    const user = await auth.registerUser();
    const otherDevice = await login(user);
    await refresh(user.refreshToken);
    expectInvalid(await refresh(user.refreshToken));
    expect((await refresh(otherDevice)).errors).toBeUndefined();
  });

  it('lets at most one of several simultaneous uses of a token succeed, and treats the others as reuse', async () => {
    const user = await auth.registerUser();
    const results = await Promise.all(Array.from({ length: 4 }, () => refresh(user.refreshToken)));
    const succeeded = results.filter((r) => r.data?.refreshToken);
    // The conditional UPDATE lets exactly one through; the rest found a used token.
    expect(succeeded).toHaveLength(1);
    for (const failed of results.filter((r) => !r.data?.refreshToken)) expectInvalid(failed);
    // Reuse revokes the session, so even the winner's successor is dead (documented trade-off:
    // a client must not race its own refreshes).
    expectInvalid(await refresh(succeeded[0]!.data!.refreshToken.refreshToken));
  });

  it('refuses an expired refresh token', async () => {
    const user = await auth.registerUser();
    await auth
      .db('auth.refresh_tokens')
      .where({ token_hash: sha256(user.refreshToken) })
      .update({ expires_at: auth.db.raw("now() - interval '1 second'") });
    expectInvalid(await refresh(user.refreshToken));
  });

  it.each([
    ['an unknown token', 'A'.repeat(43)],
    ['garbage', 'not a token'],
    ['an SQL-looking token', "' OR 1=1; --"],
    ['an empty string', ''],
  ])('answers %s with UNAUTHENTICATED', async (_label, token) => {
    expectInvalid(await refresh(token));
  });

  // The contract's answer for a bad refresh token, however long: a value too long to be one is
  // simply not one (an access token pasted by mistake is the common case).
  it('answers a very long token, and an access token, with UNAUTHENTICATED', async () => {
    expectInvalid(await refresh('x'.repeat(50_000)));
    const user = await auth.registerUser();
    expectInvalid(await refresh(user.accessToken));
    // Nothing happened to the session the access token belongs to.
    expect((await refresh(user.refreshToken)).errors).toBeUndefined();
  });
});

describe('logout', () => {
  it('revokes the session: its refresh token stops working', async () => {
    const user = await auth.registerUser();
    expect((await logout(user.refreshToken)).data).toEqual({ logout: true });
    expectInvalid(await refresh(user.refreshToken));
  });

  it('is idempotent and says true for already revoked, rotated, unknown and malformed tokens alike', async () => {
    const user = await auth.registerUser();
    const next = (await refresh(user.refreshToken)).data!.refreshToken.refreshToken;
    // A rotated token still identifies its session, so logging out with it ends the session too.
    expect((await logout(user.refreshToken)).data).toEqual({ logout: true });
    expectInvalid(await refresh(next));
    expect((await logout(next)).data).toEqual({ logout: true });
    expect((await logout('B'.repeat(43))).data).toEqual({ logout: true });
    expect((await logout('garbage')).data).toEqual({ logout: true });
  });

  it('says true for a very long token and for an access token, and ends nothing', async () => {
    const long = await logout('x'.repeat(50_000));
    expect([long.errors, long.data]).toEqual([undefined, { logout: true }]);
    const user = await auth.registerUser();
    const access = await logout(user.accessToken);
    expect([access.errors, access.data]).toEqual([undefined, { logout: true }]);
    expect((await refresh(user.refreshToken)).errors).toBeUndefined();
  });
});
