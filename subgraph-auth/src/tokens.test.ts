import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { keyId } from './auth/signing-keys';
import { type RegisteredUser, type StartedAuthService, startAuthService } from './test-support';

const ME = '{ me { id email name createdAt } }';

const newEcPem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

let auth: StartedAuthService;
let user: RegisteredUser;
let signingKey: KeyObject;
let retiringKey: KeyObject;
const [signingPem, retiringPem] = [newEcPem(), newEcPem()];

beforeAll(async () => {
  // Two active keys, as during a rotation: the first signs, both are published.
  auth = await startAuthService({ env: { JWT_PRIVATE_KEYS: `${signingPem}${retiringPem}` } });
  [signingKey, retiringKey] = auth.config.jwt.privateKeys as [KeyObject, KeyObject];
  user = await auth.registerUser();
});
afterAll(async () => {
  await auth.close();
});

const me = (authorization?: string) =>
  auth.graphql<{ me: { id: string; email: string } }>(ME, undefined, authorization ? { authorization } : {});

/** Signs claims the way an attacker or a misconfigured issuer might. */
function forge(
  claims: Record<string, unknown>,
  options: jwt.SignOptions = {},
  key: KeyObject | string = signingKey,
) {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign(
    { sub: user.id, iss: 'imagehub-auth', aud: 'imagehub', iat: now, exp: now + 300, ...claims },
    key,
    { algorithm: 'ES256', keyid: keyId(signingKey), ...options },
  );
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function expectUnauthenticated(authorization: string | undefined) {
  const result = await me(authorization);
  expect(result.data).toBeNull();
  expect(result.errors).toHaveLength(1);
  // Which reason each token gets is reasons.test.ts's subject; here, that it is one of the token reasons.
  expect(result.errors![0]!.extensions).toEqual({
    code: 'UNAUTHENTICATED',
    reason: expect.stringMatching(/^TOKEN_(MISSING|INVALID|EXPIRED)$/),
  });
}

describe('access tokens', () => {
  it('are ES256 JWTs with a kid header and sub, iss, aud, iat, exp (15 minutes) and sid (the session)', () => {
    const { header, payload } = jwt.decode(user.accessToken, { complete: true }) as jwt.Jwt & {
      payload: jwt.JwtPayload;
    };
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: keyId(signingKey) });
    expect(payload).toEqual({
      sub: user.id,
      iss: 'imagehub-auth',
      aud: 'imagehub',
      iat: expect.any(Number),
      exp: payload.iat! + 900,
      sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(() =>
      jwt.verify(user.accessToken, createPublicKey(signingKey), { algorithms: ['ES256'] }),
    ).not.toThrow();
  });

  it('let `me` return the caller', async () => {
    const result = await me(`Bearer ${user.accessToken}`);
    expect(result.errors).toBeUndefined();
    expect(result.data!.me).toMatchObject({ id: user.id, email: user.email });
  });

  it('signed by another published key still verify (key rotation)', async () => {
    const token = forge({}, { keyid: keyId(retiringKey) }, retiringKey);
    expect((await me(`Bearer ${token}`)).data!.me.id).toBe(user.id);
  });
});

describe('JWKS', () => {
  it('publishes every active public key as EC P-256 JWKs, without private parts', async () => {
    const response = await fetch(auth.jwksUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { keys: Record<string, string>[] };
    expect(body.keys).toHaveLength(2);
    expect(body.keys.map((k) => k.kid)).toEqual([keyId(signingKey), keyId(retiringKey)]);
    for (const key of body.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(key.y).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });
});

describe('me refuses with UNAUTHENTICATED', () => {
  it('no Authorization header, or one that is not a bearer token', async () => {
    await expectUnauthenticated(undefined);
    await expectUnauthenticated(`Basic ${Buffer.from('a:b').toString('base64')}`);
    await expectUnauthenticated(user.accessToken);
  });

  it('garbage', async () => {
    await expectUnauthenticated('Bearer garbage');
    await expectUnauthenticated('Bearer a.b.c');
    await expectUnauthenticated(`Bearer ${'x'.repeat(4000)}.${'y'.repeat(4000)}.z`);
  });

  it('an `alg: none` token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64({ alg: 'none', typ: 'JWT', kid: keyId(signingKey) });
    const payload = b64({ sub: user.id, iss: 'imagehub-auth', aud: 'imagehub', iat: now, exp: now + 300 });
    await expectUnauthenticated(`Bearer ${header}.${payload}.`);
  });

  it('an HS256 token signed with the public key as secret (algorithm confusion)', async () => {
    const publicPem = createPublicKey(signingKey).export({ type: 'spki', format: 'pem' }).toString();
    const now = Math.floor(Date.now() / 1000);
    const header = b64({ alg: 'HS256', typ: 'JWT', kid: keyId(signingKey) });
    const payload = b64({ sub: user.id, iss: 'imagehub-auth', aud: 'imagehub', iat: now, exp: now + 300 });
    const signature = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
    await expectUnauthenticated(`Bearer ${header}.${payload}.${signature}`);
  });

  it('an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await expectUnauthenticated(`Bearer ${forge({ iat: past, exp: past + 900 })}`);
  });

  it('a wrong issuer or audience', async () => {
    await expectUnauthenticated(`Bearer ${forge({ iss: 'someone-else' })}`);
    await expectUnauthenticated(`Bearer ${forge({ aud: 'another-app' })}`);
  });

  it('a tampered payload (another user id under the original signature)', async () => {
    const other = await auth.registerUser();
    const [header, , signature] = user.accessToken.split('.');
    const claims = jwt.decode(user.accessToken) as jwt.JwtPayload;
    await expectUnauthenticated(`Bearer ${header}.${b64({ ...claims, sub: other.id })}.${signature}`);
  });

  it('a token signed by a key the service does not hold, under a known or unknown kid', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await expectUnauthenticated(`Bearer ${forge({}, {}, stranger)}`);
    await expectUnauthenticated(`Bearer ${forge({}, { keyid: keyId(stranger) }, stranger)}`);
    const now = Math.floor(Date.now() / 1000);
    const noKid = jwt.sign(
      { sub: user.id, iss: 'imagehub-auth', aud: 'imagehub', iat: now, exp: now + 300 },
      signingKey,
      {
        algorithm: 'ES256',
      },
    );
    await expectUnauthenticated(`Bearer ${noKid}`);
  });

  it('a valid token for an account that no longer exists', async () => {
    const gone = await auth.registerUser();
    await auth.db('auth.users').where({ id: gone.id }).delete();
    await expectUnauthenticated(`Bearer ${gone.accessToken}`);
  });

  it('a token whose subject is not a user id', async () => {
    await expectUnauthenticated(`Bearer ${forge({ sub: "' OR 1=1 --" })}`);
  });
});
