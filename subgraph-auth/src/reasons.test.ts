/** Every UNAUTHENTICATED the auth subgraph answers says why (extensions.reason), in the one wording per reason. */
import { UNAUTHENTICATED_MESSAGES, type UnauthenticatedReason } from '@imagehub/service-kit';
import jwt from 'jsonwebtoken';
import {
  type GraphQLResult,
  type RegisteredUser,
  type StartedAuthService,
  startAuthService,
} from './test-support';

let auth: StartedAuthService;
let user: RegisteredUser;

beforeAll(async () => {
  auth = await startAuthService();
  user = await auth.registerUser();
});
afterAll(async () => {
  await auth.close();
});

function expectReason(result: GraphQLResult, reason: UnauthenticatedReason) {
  expect(result.data).toBeNull();
  expect(result.errors).toEqual([
    expect.objectContaining({
      message: UNAUTHENTICATED_MESSAGES[reason],
      extensions: { code: 'UNAUTHENTICATED', reason },
    }),
  ]);
}

/** The user's own token with `exp` in the past, signed with the service's real key: only the expiry is wrong. */
function expiredToken(): string {
  const { header, payload } = jwt.decode(user.accessToken, { complete: true }) as jwt.Jwt;
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign(
    { ...(payload as jwt.JwtPayload), iat: now - 1200, exp: now - 600 },
    auth.config.jwt.privateKeys[0]!,
    {
      algorithm: 'ES256',
      keyid: header.kid,
    },
  );
}

const me = (authorization?: string) =>
  auth.graphql('{ me { id } }', undefined, authorization === undefined ? {} : { authorization });

describe('UNAUTHENTICATED reasons at the auth subgraph', () => {
  it('TOKEN_MISSING: no Authorization header', async () => {
    expectReason(await me(), 'TOKEN_MISSING');
  });

  it('takes the Bearer scheme in any case (RFC 7235: auth schemes are case-insensitive)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const result = await me(`${scheme} ${user.accessToken}`);
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual({ me: { id: user.id } });
    }
  });

  it('TOKEN_INVALID: a header that is not a bearer JWT, and a JWT that fails verification', async () => {
    expectReason(await me('Basic dXNlcjpwYXNz'), 'TOKEN_INVALID');
    expectReason(await me('Bearer not-a-jwt'), 'TOKEN_INVALID');
    const [head, body] = user.accessToken.split('.');
    expectReason(await me(`Bearer ${head}.${body}.AAAA`), 'TOKEN_INVALID');
  });

  it('TOKEN_EXPIRED: a genuine token past its exp', async () => {
    expectReason(await me(`Bearer ${expiredToken()}`), 'TOKEN_EXPIRED');
    // The same user's live token still works: only the expired one is refused.
    expect((await me(`Bearer ${user.accessToken}`)).data).toEqual({ me: { id: user.id } });
  });

  it('BAD_CREDENTIALS: a wrong password, and an unknown email, alike', async () => {
    const login = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }';
    expectReason(
      await auth.graphql(login, { e: user.email, p: 'not the password at all' }),
      'BAD_CREDENTIALS',
    );
    expectReason(
      await auth.graphql(login, { e: `nobody-${Date.now()}@example.com`, p: 'not the password at all' }),
      'BAD_CREDENTIALS',
    );
  });

  it('REFRESH_TOKEN_INVALID: an unknown refresh token, and one used twice', async () => {
    const refresh = 'mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }';
    expectReason(await auth.graphql(refresh, { t: 'garbage' }), 'REFRESH_TOKEN_INVALID');
    const fresh = await auth.registerUser();
    expect((await auth.graphql(refresh, { t: fresh.refreshToken })).errors).toBeUndefined();
    expectReason(await auth.graphql(refresh, { t: fresh.refreshToken }), 'REFRESH_TOKEN_INVALID');
  });
});
