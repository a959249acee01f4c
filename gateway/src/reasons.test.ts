/**
 * Through the gateway, every UNAUTHENTICATED says why: the reasons the subgraphs give pass through
 * unchanged, and the gateway's own refusal of an anonymous or stale upload uses the same reasons and words.
 */
import { UNAUTHENTICATED_MESSAGES, type UnauthenticatedReason } from '@imagehub/service-kit';
import type { RegisteredUser } from '@imagehub/subgraph-auth/test-support';
import { uploadImage } from '@imagehub/subgraph-image/test-support';
import { type GraphQLResult, noisePng } from '@imagehub/test-kit';
import jwt from 'jsonwebtoken';
import { gql, type RunningSystem, startSystem } from './test-support/system';

let system: RunningSystem;
let user: RegisteredUser;

beforeAll(async () => {
  system = await startSystem();
  user = await system.auth.registerUser();
});
afterAll(async () => {
  await system.close();
});

function expectReason(result: Pick<GraphQLResult, 'errors'>, reason: UnauthenticatedReason) {
  expect(result.errors).toEqual([
    expect.objectContaining({
      message: UNAUTHENTICATED_MESSAGES[reason],
      extensions: expect.objectContaining({ code: 'UNAUTHENTICATED', reason }),
    }),
  ]);
}

/** The user's own token with `exp` in the past, signed with the real key: only the expiry is wrong. */
function expiredToken(): string {
  const { header, payload } = jwt.decode(user.accessToken, { complete: true }) as jwt.Jwt;
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign(
    { ...(payload as jwt.JwtPayload), iat: now - 1200, exp: now - 600 },
    system.auth.config.jwt.privateKeys[0]!,
    {
      algorithm: 'ES256',
      keyid: header.kid,
    },
  );
}

/** A multipart upload through the gateway, refused by the gateway itself before a byte of the file moves. */
const upload = (authorization?: string) =>
  uploadImage(system.gatewayUrl, undefined, noisePng(8, 8), 'a.png', {
    headers: authorization ? { authorization } : {},
  });

const as = (authorization: string) => ({ headers: { authorization } });

describe('UNAUTHENTICATED reasons through the gateway', () => {
  it('TOKEN_MISSING: from the auth subgraph (me), the image subgraph (myImages) and the gateway (upload)', async () => {
    expectReason(await gql(system.gatewayUrl, '{ me { id } }'), 'TOKEN_MISSING');
    expectReason(await gql(system.gatewayUrl, '{ myImages { totalCount } }'), 'TOKEN_MISSING');
    expectReason(await upload(), 'TOKEN_MISSING');
  });

  it('TOKEN_INVALID: from each subgraph and the gateway', async () => {
    expectReason(await gql(system.gatewayUrl, '{ me { id } }', as('Bearer x.y.z')), 'TOKEN_INVALID');
    expectReason(
      await gql(system.gatewayUrl, '{ myImages { totalCount } }', as('Basic Zm9vOmJhcg==')),
      'TOKEN_INVALID',
    );
    expectReason(await upload('Bearer x.y.z'), 'TOKEN_INVALID');
  });

  it('takes a lower-case bearer scheme at each subgraph and the gateway (RFC 7235: case-insensitive)', async () => {
    const lower = as(`bearer ${user.accessToken}`);
    const me = await gql<{ me: { id: string } }>(system.gatewayUrl, '{ me { id } }', lower);
    expect(me.errors).toBeUndefined();
    expect(me.data).toEqual({ me: { id: user.id } });
    const images = await gql(system.gatewayUrl, '{ myImages { totalCount } }', lower);
    expect(images.errors).toBeUndefined();
    const uploaded = await upload(`BEARER ${user.accessToken}`);
    expect(uploaded.errors).toBeUndefined();
  });

  it('TOKEN_EXPIRED: from each subgraph and the gateway', async () => {
    const expired = `Bearer ${expiredToken()}`;
    expectReason(await gql(system.gatewayUrl, '{ me { id } }', as(expired)), 'TOKEN_EXPIRED');
    expectReason(await gql(system.gatewayUrl, '{ myImages { totalCount } }', as(expired)), 'TOKEN_EXPIRED');
    expectReason(await upload(expired), 'TOKEN_EXPIRED');
  });

  it('BAD_CREDENTIALS: a failed login', async () => {
    const result = await gql(
      system.gatewayUrl,
      'mutation($e: String!) { login(email: $e, password: "wrong password here") { accessToken } }',
      {
        variables: { e: user.email },
      },
    );
    expectReason(result, 'BAD_CREDENTIALS');
  });

  it('REFRESH_TOKEN_INVALID: a refresh with an unknown token', async () => {
    const result = await gql(
      system.gatewayUrl,
      'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }',
      {
        variables: { t: 'x'.repeat(43) },
      },
    );
    expectReason(result, 'REFRESH_TOKEN_INVALID');
  });
});
