/**
 * Sessions and revocation through the gateway (issue 15): mySessions, revokeSession,
 * logoutEverywhere, changePassword and logout, each with the other-user cases, and the access
 * tokens of ended sessions refused by every verifier: the gateway (uploads), the auth subgraph
 * (me) and the image subgraph (myImages, and an upload sent to it directly).
 *
 * How soon a revoked token is refused is waited for with eventually(), bounded by the documented
 * bound (poll interval + one load, well within REVOCATION_TARGET_MS); how fast it really is goes
 * in loadtest/src/measure-revocation.ts, not here.
 */
import {
  ErrorCode,
  listen,
  REVOKED_SESSIONS_PATH,
  UNAUTHENTICATED_MESSAGES,
  type UnauthenticatedReason,
} from '@imagehub/service-kit';
import type { RegisteredUser } from '@imagehub/subgraph-auth/test-support';
import { uploadImage } from '@imagehub/subgraph-image/test-support';
import { eventually, freePort, type GraphQLResult, noisePng } from '@imagehub/test-kit';
import jwt from 'jsonwebtoken';
import { createServer } from './app';
import { loadConfig } from './config';
import { gql, type RunningSystem, startSystem } from './test-support/system';

/** The target: revoked access tokens are refused everywhere within 5 s. */
const REVOCATION_TARGET_MS = 5_000;
const MAX_SESSIONS = 3;

let system: RunningSystem;

beforeAll(async () => {
  system = await startSystem({ authEnv: { MAX_SESSIONS_PER_USER: String(MAX_SESSIONS) } });
});
afterAll(async () => {
  await system.close();
});

interface SignIn {
  accessToken: string;
  refreshToken: string;
}
interface SessionRow {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  userAgent: string | null;
  current: boolean;
}

const SESSIONS = '{ mySessions { id createdAt lastUsedAt userAgent current } }';
const LOGIN =
  'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }';
const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }';
const CHANGE =
  'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken refreshToken tokenType expiresIn user { id } } }';

const as = (token: string, headers: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${token}`, ...headers },
});

async function login(user: RegisteredUser, userAgent = 'accounts-test'): Promise<SignIn> {
  const result = await gql<{ login: SignIn }>(system.gatewayUrl, LOGIN, {
    variables: { e: user.email, p: user.password },
    headers: { 'user-agent': userAgent },
  });
  if (!result.data?.login) throw new Error(`login failed: ${JSON.stringify(result.errors)}`);
  return result.data.login;
}

async function sessionsOf(token: string): Promise<SessionRow[]> {
  const result = await gql<{ mySessions: SessionRow[] }>(system.gatewayUrl, SESSIONS, as(token));
  if (!result.data) throw new Error(`mySessions failed: ${JSON.stringify(result.errors)}`);
  return result.data.mySessions;
}

const sessionIdOf = (accessToken: string) => (jwt.decode(accessToken) as { sid: string }).sid;

function reasonOf(result: Pick<GraphQLResult, 'errors'>): string | undefined {
  return result.errors?.[0]?.extensions?.reason as string | undefined;
}

function expectReason(
  result: Pick<GraphQLResult, 'errors'>,
  reason: UnauthenticatedReason,
  message = UNAUTHENTICATED_MESSAGES[reason],
) {
  expect(result.errors).toEqual([
    expect.objectContaining({
      message,
      extensions: expect.objectContaining({ code: 'UNAUTHENTICATED', reason }),
    }),
  ]);
}

/** The three verifiers' answers to one access token. */
const verifiers = (token: string) => ({
  auth: () => gql(system.gatewayUrl, '{ me { id } }', as(token)),
  image: () => gql(system.gatewayUrl, '{ myImages(first: 1) { totalCount } }', as(token)),
  gateway: () => uploadImage(system.gatewayUrl, token, noisePng(4, 4), 'r.png'),
  imageDirect: () => uploadImage(system.image.url, token, noisePng(4, 4), 'r.png'),
});

/** Waits until every verifier refuses the token as revoked (each is asked until it does). */
async function expectRevokedEverywhere(token: string): Promise<void> {
  for (const [name, ask] of Object.entries(verifiers(token))) {
    await eventually(`${name} refuses the revoked token`, REVOCATION_TARGET_MS, async () => {
      return reasonOf(await ask()) === 'SESSION_REVOKED';
    });
    expectReason(await ask(), 'SESSION_REVOKED');
  }
}

async function expectAcceptedEverywhere(token: string): Promise<void> {
  const { auth, image } = verifiers(token);
  expect((await auth()).errors).toBeUndefined();
  expect((await image()).errors).toBeUndefined();
}

describe('mySessions', () => {
  it("lists the caller's live sessions, most recently used first, marking the current one", async () => {
    const user = await system.auth.registerUser();
    const phone = await login(user, 'Phone/1.0');
    const laptop = await login(user, 'Laptop/2.0');
    // Refreshing the phone's session makes it the most recently used.
    const refreshed = await gql<{ refreshToken: SignIn }>(system.gatewayUrl, REFRESH, {
      variables: { t: phone.refreshToken },
    });
    const phoneNow = refreshed.data!.refreshToken;

    const sessions = await sessionsOf(laptop.accessToken);
    expect(sessions.map((s) => s.id)).toEqual([
      sessionIdOf(phoneNow.accessToken),
      sessionIdOf(laptop.accessToken),
      sessionIdOf(user.accessToken),
    ]);
    expect(sessions.map((s) => [s.userAgent, s.current])).toEqual([
      ['Phone/1.0', false],
      ['Laptop/2.0', true],
      ['node', false],
    ]);
    // registerUser's fetch sends its own User-Agent ("node").
    // The refreshed session keeps its id and creation time; only its last use moves.
    expect(sessionIdOf(phoneNow.accessToken)).toBe(sessionIdOf(phone.accessToken));
    const [phoneRow] = sessions;
    expect(Date.parse(phoneRow!.lastUsedAt)).toBeGreaterThan(Date.parse(phoneRow!.createdAt));
    await expect(sessionsOf(phoneNow.accessToken)).resolves.toEqual(
      sessions.map((s) => ({ ...s, current: s.id === phoneRow!.id })),
    );
  });

  it("shows only the caller's own sessions, never another user's", async () => {
    const alice = await system.auth.registerUser();
    const bob = await system.auth.registerUser();
    await login(bob);
    const aliceSessions = await sessionsOf(alice.accessToken);
    expect(aliceSessions.map((s) => s.id)).toEqual([sessionIdOf(alice.accessToken)]);
    expect((await sessionsOf(bob.accessToken)).map((s) => s.id)).not.toContain(
      sessionIdOf(alice.accessToken),
    );
  });

  it('keeps at most 200 printable characters of the User-Agent', async () => {
    const user = await system.auth.registerUser();
    const signIn = await login(user, `Browser\t/${'x'.repeat(500)}`);
    const [own] = (await sessionsOf(signIn.accessToken)).filter((s) => s.current);
    expect(own!.userAgent).toBe(`Browser/${'x'.repeat(192)}`);
  });

  it('shows a User-Agent sent as UTF-8 as the text it is, cut at 200 characters, not as mojibake', async () => {
    // On the wire a header is bytes; Node hands them over one character per byte (latin1), so the
    // test sends its UTF-8 bytes the same way.
    const asBytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
    const userAgentOf = async (sent: string) => {
      const user = await system.auth.registerUser();
      const signIn = await login(user, sent);
      return (await sessionsOf(signIn.accessToken)).find((s) => s.current)!.userAgent;
    };
    await expect(userAgentOf(asBytes('Navigateur/1.0 (café ✓)'))).resolves.toBe('Navigateur/1.0 (café ✓)');
    // Cut in the middle of a character (4 bytes each, so the cut lands inside one): still decoded.
    await expect(userAgentOf(asBytes(`Emoji/${'😀'.repeat(300)}`))).resolves.toBe(
      `Emoji/${'😀'.repeat(194)}`,
    );
    // Bytes that are not UTF-8 stay what they were before: one character per byte.
    await expect(userAgentOf('Legacy/1.0 (caf\u00e9)')).resolves.toBe('Legacy/1.0 (café)');
  });

  it(`bounds live sessions per user (${MAX_SESSIONS}): signing in beyond it ends the least recently used`, async () => {
    const user = await system.auth.registerUser();
    const signIns = [];
    for (let i = 0; i < MAX_SESSIONS; i++) signIns.push(await login(user));
    const sessions = await sessionsOf(signIns.at(-1)!.accessToken);
    expect(sessions).toHaveLength(MAX_SESSIONS);
    expect(sessions.map((s) => s.id)).not.toContain(sessionIdOf(user.accessToken));
    await expectRevokedEverywhere(user.accessToken);
    const refresh = await gql(system.gatewayUrl, REFRESH, { variables: { t: user.refreshToken } });
    expectReason(refresh, 'REFRESH_TOKEN_INVALID');
  });

  it('is UNAUTHENTICATED without a token', async () => {
    expectReason(await gql(system.gatewayUrl, SESSIONS), 'TOKEN_MISSING');
  });
});

describe('revokeSession', () => {
  const REVOKE = 'mutation($id: ID!) { revokeSession(id: $id) }';

  it("ends one of the caller's sessions: its access token is refused everywhere, its refresh token too", async () => {
    const user = await system.auth.registerUser();
    const other = await login(user);
    const result = await gql(system.gatewayUrl, REVOKE, {
      ...as(user.accessToken),
      variables: { id: sessionIdOf(other.accessToken) },
    });
    expect(result).toMatchObject({ data: { revokeSession: true } });
    expect(result.errors).toBeUndefined();
    await expectRevokedEverywhere(other.accessToken);
    expectReason(
      await gql(system.gatewayUrl, REFRESH, { variables: { t: other.refreshToken } }),
      'REFRESH_TOKEN_INVALID',
    );
    // The caller's own session is untouched, and the ended one is no longer listed.
    await expectAcceptedEverywhere(user.accessToken);
    expect((await sessionsOf(user.accessToken)).map((s) => s.id)).toEqual([sessionIdOf(user.accessToken)]);
    // Revoking it again is still the caller's own session: true, not an error.
    const again = await gql(system.gatewayUrl, REVOKE, {
      ...as(user.accessToken),
      variables: { id: sessionIdOf(other.accessToken) },
    });
    expect(again.data).toEqual({ revokeSession: true });
  });

  it("NOT_FOUND for another user's session, which keeps working", async () => {
    const alice = await system.auth.registerUser();
    const bob = await system.auth.registerUser();
    const result = await gql(system.gatewayUrl, REVOKE, {
      ...as(alice.accessToken),
      variables: { id: sessionIdOf(bob.accessToken) },
    });
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual([ErrorCode.NOT_FOUND]);
    expect(result.data).toBeNull();
    await expectAcceptedEverywhere(bob.accessToken);
    expect((await sessionsOf(bob.accessToken)).map((s) => s.id)).toEqual([sessionIdOf(bob.accessToken)]);
  });

  it.each([
    ['an unknown id', '00000000-0000-4000-8000-000000000000'],
    ['an id that is not a UUID', "1' or '1'='1"],
    ['a huge id', 'x'.repeat(10_000)],
  ])('NOT_FOUND for %s', async (_what, id) => {
    const user = await system.auth.registerUser();
    const result = await gql(system.gatewayUrl, REVOKE, { ...as(user.accessToken), variables: { id } });
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual([ErrorCode.NOT_FOUND]);
  });

  it('is UNAUTHENTICATED without a token', async () => {
    const user = await system.auth.registerUser();
    expectReason(
      await gql(system.gatewayUrl, REVOKE, { variables: { id: sessionIdOf(user.accessToken) } }),
      'TOKEN_MISSING',
    );
    await expectAcceptedEverywhere(user.accessToken);
  });
});

describe('logout', () => {
  it("refuses the session's access token everywhere, not only its refresh token", async () => {
    const user = await system.auth.registerUser();
    const other = await login(user);
    const result = await gql(system.gatewayUrl, 'mutation($t: String!) { logout(refreshToken: $t) }', {
      variables: { t: user.refreshToken },
    });
    expect(result.data).toEqual({ logout: true });
    await expectRevokedEverywhere(user.accessToken);
    await expectAcceptedEverywhere(other.accessToken);
  });
});

describe('logoutEverywhere', () => {
  const EVERYWHERE = 'mutation { logoutEverywhere }';

  it("ends every session of the caller, this one included, and no one else's", async () => {
    const user = await system.auth.registerUser();
    const other = await login(user);
    const stranger = await system.auth.registerUser();
    const result = await gql(system.gatewayUrl, EVERYWHERE, as(user.accessToken));
    expect(result.data).toEqual({ logoutEverywhere: true });
    await expectRevokedEverywhere(user.accessToken);
    await expectRevokedEverywhere(other.accessToken);
    for (const token of [user.refreshToken, other.refreshToken]) {
      expectReason(
        await gql(system.gatewayUrl, REFRESH, { variables: { t: token } }),
        'REFRESH_TOKEN_INVALID',
      );
    }
    await expectAcceptedEverywhere(stranger.accessToken);
    // Signing in again works: the account is fine, only its sessions ended.
    const fresh = await login(user);
    expect((await sessionsOf(fresh.accessToken)).map((s) => s.id)).toEqual([sessionIdOf(fresh.accessToken)]);
  });

  it('is UNAUTHENTICATED without a token, and with a revoked one', async () => {
    expectReason(await gql(system.gatewayUrl, EVERYWHERE), 'TOKEN_MISSING');
    const user = await system.auth.registerUser();
    await gql(system.gatewayUrl, EVERYWHERE, as(user.accessToken));
    expectReason(await gql(system.gatewayUrl, EVERYWHERE, as(user.accessToken)), 'SESSION_REVOKED');
  });
});

describe('changePassword', () => {
  const change = (token: string, c: string, n: string, headers: Record<string, string> = {}) =>
    gql<{ changePassword: SignIn & { tokenType: string; expiresIn: number; user: { id: string } } }>(
      system.gatewayUrl,
      CHANGE,
      { ...as(token, headers), variables: { c, n } },
    );

  it("changes the password, ends every other session and returns a fresh pair for the caller's own session", async () => {
    const user = await system.auth.registerUser();
    const other = await login(user, 'Phone/1.0');
    // The caller refreshed once before: its session holds a used refresh token and a current one.
    const before = (
      await gql<{ refreshToken: SignIn }>(system.gatewayUrl, REFRESH, { variables: { t: user.refreshToken } })
    ).data!.refreshToken;
    const result = await change(before.accessToken, user.password, 'a brand new passphrase', {
      'user-agent': 'Settings/1.0',
    });
    expect(result.errors).toBeUndefined();
    const fresh = result.data!.changePassword;
    expect(fresh).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: expect.any(Number),
      user: { id: user.id },
    });
    // The same session: a new access token for it and a new refresh token.
    const own = sessionIdOf(user.accessToken);
    expect(sessionIdOf(fresh.accessToken)).toBe(own);
    expect(fresh.refreshToken).not.toBe(before.refreshToken);

    await expectRevokedEverywhere(other.accessToken);
    // By now every verifier has the new list: the caller's access tokens are not on it.
    await expectAcceptedEverywhere(before.accessToken);
    await expectAcceptedEverywhere(fresh.accessToken);
    const sessions = await sessionsOf(fresh.accessToken);
    // The session keeps what it was: its id, its User-Agent from sign-in, `current`.
    expect(sessions.map((s) => [s.id, s.userAgent, s.current])).toEqual([[own, 'node', true]]);
    expect(await sessionsOf(before.accessToken)).toEqual(sessions);

    // The other session's refresh token is dead; so are the caller's from before the change, and
    // presenting them is simply invalid: it does not end the caller's session (nor does logout).
    const refresh = (t: string) =>
      gql<{ refreshToken: SignIn }>(system.gatewayUrl, REFRESH, { variables: { t } });
    expectReason(await refresh(other.refreshToken), 'REFRESH_TOKEN_INVALID');
    expectReason(await refresh(before.refreshToken), 'REFRESH_TOKEN_INVALID');
    expectReason(await refresh(user.refreshToken), 'REFRESH_TOKEN_INVALID');
    const loggedOut = await gql(system.gatewayUrl, 'mutation($t: String!) { logout(refreshToken: $t) }', {
      variables: { t: before.refreshToken },
    });
    expect(loggedOut.data).toEqual({ logout: true });
    const next = await refresh(fresh.refreshToken);
    expect(next.errors).toBeUndefined();
    expect(sessionIdOf(next.data!.refreshToken.accessToken)).toBe(own);
    await expectAcceptedEverywhere(next.data!.refreshToken.accessToken);
    await expectAcceptedEverywhere(before.accessToken);

    expectReason(
      await gql(system.gatewayUrl, LOGIN, { variables: { e: user.email, p: user.password } }),
      'BAD_CREDENTIALS',
    );
    await login({ ...user, password: 'a brand new passphrase' });
  });

  it('BAD_CREDENTIALS for a wrong current password; nothing changes', async () => {
    const user = await system.auth.registerUser();
    const result = await change(user.accessToken, 'not my password', 'a brand new passphrase');
    // The caller typed no email: the words are about the password alone.
    expectReason(result, 'BAD_CREDENTIALS', 'The current password is wrong');
    await expectAcceptedEverywhere(user.accessToken);
    await login(user);
  });

  it.each([
    ['too short', 'short', 'newPassword'],
    ['too common', 'password123', 'newPassword'],
    ['over 72 bytes', 'é'.repeat(40), 'newPassword'],
  ])(
    'BAD_USER_INPUT for a new password that is %s (register rules); nothing changes',
    async (_w, n, field) => {
      const user = await system.auth.registerUser();
      const result = await change(user.accessToken, user.password, n);
      expect(result.errors?.map((e) => [e.extensions?.code, e.extensions?.field])).toEqual([
        [ErrorCode.BAD_USER_INPUT, field],
      ]);
      await expectAcceptedEverywhere(user.accessToken);
      await login(user);
    },
  );

  it('BAD_USER_INPUT for a new password equal to the email', async () => {
    const user = await system.auth.registerUser();
    const result = await change(user.accessToken, user.password, user.email);
    expect(result.errors?.map((e) => e.extensions?.field)).toEqual(['newPassword']);
  });

  it('BAD_USER_INPUT for an oversized current password, without comparing it', async () => {
    const user = await system.auth.registerUser();
    const result = await change(user.accessToken, 'x'.repeat(10_000), 'a brand new passphrase');
    expect(result.errors?.map((e) => e.extensions?.field)).toEqual(['currentPassword']);
  });

  it('is UNAUTHENTICATED without a token', async () => {
    const result = await gql(system.gatewayUrl, CHANGE, { variables: { c: 'whatever1', n: 'whatever22' } });
    expectReason(result, 'TOKEN_MISSING');
  });
});

describe('changePassword throttling (shared with login)', () => {
  let throttled: RunningSystem;
  beforeAll(async () => {
    throttled = await startSystem({
      authEnv: { LOGIN_FAILURES_PER_EMAIL_AND_IP: '2', LOGIN_LOCKOUT_BASE_SEC: '60' },
    });
  });
  afterAll(async () => {
    await throttled?.close();
  });

  it('wrong current passwords lock the account for this address like failed logins do', async () => {
    const user = await throttled.auth.registerUser();
    const attempt = (c: string) =>
      gql(throttled.gatewayUrl, CHANGE, {
        ...as(user.accessToken),
        variables: { c, n: 'a brand new passphrase' },
      });
    // The free failures (2) are BAD_CREDENTIALS; then the pair is locked out.
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const result = await attempt(`wrong password ${i}`);
      answers.push(String(result.errors?.[0]?.extensions?.reason ?? result.errors?.[0]?.extensions?.code));
    }
    expect(answers).toEqual(['BAD_CREDENTIALS', 'BAD_CREDENTIALS', 'TOO_MANY_REQUESTS', 'TOO_MANY_REQUESTS']);
    const locked = await attempt(user.password);
    expect(locked.errors?.map((e) => e.extensions?.code)).toEqual([ErrorCode.TOO_MANY_REQUESTS]);
    expect(locked.errors?.[0]?.extensions?.retryAfter).toEqual(expect.any(Number));
    // The same counters as login: signing in from here is locked too.
    const signIn = await gql(throttled.gatewayUrl, LOGIN, { variables: { e: user.email, p: user.password } });
    expect(signIn.errors?.map((e) => e.extensions?.code)).toEqual([ErrorCode.TOO_MANY_REQUESTS]);
  });
});

describe('the revocation list at the gateway', () => {
  it('is checked by the gateway itself: with the image subgraph stopped, a revoked upload is still SESSION_REVOKED', async () => {
    const user = await system.auth.registerUser();
    await gql(system.gatewayUrl, 'mutation { logoutEverywhere }', as(user.accessToken));
    await system.stopImage();
    try {
      // With the image subgraph up, its own refusal could answer for the gateway's; stopped, only the
      // gateway's list can say SESSION_REVOKED (until its next poll, the upload is SERVICE_UNAVAILABLE).
      const upload = verifiers(user.accessToken).gateway;
      await eventually('the gateway refuses the revoked upload itself', REVOCATION_TARGET_MS, async () => {
        return reasonOf(await upload()) === 'SESSION_REVOKED';
      });
      expectReason(await upload(), 'SESSION_REVOKED');
    } finally {
      await system.restartImage();
    }
  });

  it('is served by the auth service, not through the public gateway', async () => {
    const user = await system.auth.registerUser();
    await gql(system.gatewayUrl, 'mutation { logoutEverywhere }', as(user.accessToken));
    const fromAuth = await fetch(`${system.auth.url}${REVOKED_SESSIONS_PATH}`);
    expect(fromAuth.headers.get('cache-control')).toBe('no-store');
    expect(((await fromAuth.json()) as { sessionIds: string[] }).sessionIds).toContain(
      sessionIdOf(user.accessToken),
    );
    const fromGateway = await fetch(`${system.gatewayUrl}${REVOKED_SESSIONS_PATH}`);
    expect(await fromGateway.text()).not.toContain(sessionIdOf(user.accessToken));
  });

  it('fails closed: with the list unreachable, signed-in uploads are SERVICE_UNAVAILABLE, not let through', async () => {
    const user = await system.auth.registerUser();
    const nowhere = `http://127.0.0.1:${await freePort()}${REVOKED_SESSIONS_PATH}`;
    const gateway = await createServer(
      loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        AUTH_SUBGRAPH_URL: system.auth.graphqlUrl,
        IMAGE_SUBGRAPH_URL: `${system.image.url}/graphql`,
        AUTH_REVOKED_SESSIONS_URL: nowhere,
      }),
    );
    const port = await listen(gateway.httpServer, 0, '127.0.0.1');
    try {
      const result = await uploadImage(`http://127.0.0.1:${port}`, user.accessToken, noisePng(4, 4), 'a.png');
      expect(result.errors?.map((e) => [e.extensions?.code, e.extensions?.retryAfter])).toEqual([
        [ErrorCode.SERVICE_UNAVAILABLE, 1],
      ]);
      // Anonymous requests are not affected: nothing about them depends on the list.
      const anonymous = await uploadImage(`http://127.0.0.1:${port}`, undefined, noisePng(4, 4), 'a.png');
      expectReason(anonymous, 'TOKEN_MISSING');
    } finally {
      await new Promise<void>((resolve) => gateway.httpServer.close(() => resolve()));
      await gateway.close();
    }
  });
});
