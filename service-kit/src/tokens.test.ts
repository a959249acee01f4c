import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { bearerToken, InvalidTokenError, type Jwk, TokenVerifier } from './tokens';

const ISSUER = 'imagehub-auth';
const AUDIENCE = 'imagehub';
const USER = '0b7e3a52-4a57-4c1e-9d43-6f2f8e1b2c3d';

function keyPair(kid: string): { privateKey: KeyObject; publicKey: KeyObject; jwk: Jwk } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    publicKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
  };
}

const signer = keyPair('key-1');
const sign = (claims: object = {}, options: jwt.SignOptions = {}) =>
  jwt.sign({ sub: USER, ...claims }, signer.privateKey, {
    algorithm: 'ES256',
    keyid: 'key-1',
    issuer: ISSUER,
    audience: AUDIENCE,
    expiresIn: 60,
    ...options,
  });

const verifier = () => new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: [signer.jwk] });

/** The signer's public key, as the auth service's JWKS endpoint serves it. */
function sendKeys(res: ServerResponse): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ keys: [signer.jwk] }));
}

/**
 * A JWKS endpoint on a free loopback port for the length of `use`: `answer` serves each fetch
 * (numbered from 1), and `fetches` counts them so far.
 */
async function withJwksServer(
  answer: (res: ServerResponse, fetch: number) => void,
  use: (jwks: { url: string; readonly fetches: number }) => Promise<void>,
): Promise<void> {
  let fetches = 0;
  const server = createServer((_req, res) => answer(res, ++fetches));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await use({
      url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      get fetches() {
        return fetches;
      },
    });
  } finally {
    server.close();
  }
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('TokenVerifier', () => {
  it('accepts a token signed with a known key and returns its claims', async () => {
    const claims = await verifier().verify(sign());
    expect(claims).toMatchObject({ sub: USER, iss: ISSUER, aud: AUDIENCE });
  });

  it.each([
    ['a wrong audience', () => sign({}, { audience: 'someone-else' })],
    ['a wrong issuer', () => sign({}, { issuer: 'evil' })],
    ['an unknown key id', () => sign({}, { keyid: 'key-2' })],
    [
      'no subject',
      () =>
        jwt.sign({}, signer.privateKey, {
          algorithm: 'ES256',
          keyid: 'key-1',
          issuer: ISSUER,
          audience: AUDIENCE,
        }),
    ],
    ['garbage', () => 'not.a.token'],
    [
      'no exp claim',
      () =>
        jwt.sign({ sub: USER }, signer.privateKey, {
          algorithm: 'ES256',
          keyid: 'key-1',
          issuer: ISSUER,
          audience: AUDIENCE,
        }),
    ],
    [
      'an iat in the future beyond the clock tolerance',
      () => sign({ iat: Math.floor(Date.now() / 1000) + 600 }),
    ],
    ['a lifetime longer than the maximum', () => sign({}, { expiresIn: 7200 })],
    [
      'an exp beyond the maximum lifetime, with iat left out',
      () => sign({}, { expiresIn: 7200, noTimestamp: true }),
    ],
    [
      'a crit header the verifier does not understand',
      () => sign({}, { header: { alg: 'ES256', kid: 'key-1', crit: ['exp'] } as jwt.JwtHeader }),
    ],
    ['a subject that is not a user id', () => sign({ sub: 'admin' })],
    [
      'alg none',
      () =>
        `${base64url({ alg: 'none', typ: 'JWT', kid: 'key-1' })}.${base64url({ sub: USER, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 })}.`,
    ],
    [
      'HS256 signed with the public key (algorithm confusion)',
      () => {
        const pem = signer.publicKey.export({ format: 'pem', type: 'spki' }).toString();
        const header = base64url({ alg: 'HS256', typ: 'JWT', kid: 'key-1' });
        const payload = base64url({
          sub: USER,
          iss: ISSUER,
          aud: AUDIENCE,
          exp: Math.floor(Date.now() / 1000) + 60,
        });
        const mac = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
        return `${header}.${payload}.${mac}`;
      },
    ],
    [
      'a tampered payload',
      () => {
        const [header, , signature] = sign().split('.');
        return `${header}.${base64url({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: 9_999_999_999 })}.${signature}`;
      },
    ],
    [
      'a token signed by another key with the same kid',
      () =>
        jwt.sign({ sub: USER }, keyPair('key-1').privateKey, {
          algorithm: 'ES256',
          keyid: 'key-1',
          issuer: ISSUER,
          audience: AUDIENCE,
          expiresIn: 60,
        }),
    ],
  ])('rejects %s as TOKEN_INVALID', async (_label, make) => {
    const refusal = verifier().verify(make());
    await expect(refusal).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(refusal).rejects.toMatchObject({ reason: 'TOKEN_INVALID' });
  });

  it('rejects an expired token as TOKEN_EXPIRED, the one reason a refresh can fix', async () => {
    const refusal = verifier().verify(sign({}, { expiresIn: -60 }));
    await expect(refusal).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(refusal).rejects.toMatchObject({ reason: 'TOKEN_EXPIRED' });
  });

  describe('remembering verified tokens', () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    it('still refuses a remembered token once it expires, as TOKEN_EXPIRED', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const remembering = verifier();
      const token = sign({}, { expiresIn: 30 });
      await expect(remembering.verify(token)).resolves.toMatchObject({ sub: USER });
      await expect(remembering.verify(token)).resolves.toMatchObject({ sub: USER });
      // Past exp and the 5 s clock tolerance.
      jest.setSystemTime(Date.now() + 36_000);
      const refusal = remembering.verify(token);
      await expect(refusal).rejects.toMatchObject({ reason: 'TOKEN_EXPIRED' });
      await expect(remembering.verify(token)).rejects.toMatchObject({ reason: 'TOKEN_EXPIRED' });
    });

    it('verifies any other text in full, however close to a remembered token', async () => {
      const remembering = verifier();
      const token = sign();
      await remembering.verify(token);
      // A character inside the signature (the last one may carry only padding bits).
      const at = token.length - 10;
      const altered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
      await expect(remembering.verify(altered)).rejects.toMatchObject({
        reason: 'TOKEN_INVALID',
      });
      await expect(remembering.verify(token)).resolves.toMatchObject({ sub: USER });
    });

    it('hands out claims nobody can change for the next caller', async () => {
      const remembering = verifier();
      const token = sign();
      const claims = await remembering.verify(token);
      expect(() => {
        (claims as { sub: string }).sub = 'someone else';
      }).toThrow(TypeError);
      await expect(remembering.verify(token)).resolves.toMatchObject({ sub: USER });
    });
  });

  it('accepts an iat slightly ahead within the clock tolerance', async () => {
    const claims = await verifier().verify(sign({ iat: Math.floor(Date.now() / 1000) + 3 }));
    expect(claims.sub).toBe(USER);
  });

  it('accepts a longer lifetime when configured for it', async () => {
    const long = new TokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: [signer.jwk],
      maxLifetimeSec: 7200,
    });
    await expect(long.verify(sign({}, { expiresIn: 7200 }))).resolves.toMatchObject({ sub: USER });
  });

  it('fetches the JWKS for an unknown kid, once per cooldown', async () => {
    await withJwksServer(sendKeys, async (jwks) => {
      const remote = new TokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUrl: jwks.url,
        refetchCooldownMs: 60_000,
      });
      expect(remote.hasKeys).toBe(false);
      await expect(remote.verify(sign())).resolves.toMatchObject({ sub: USER });
      await expect(remote.verify(sign({}, { keyid: 'forged-kid' }))).rejects.toBeInstanceOf(
        InvalidTokenError,
      );
      await expect(remote.verify(sign({}, { keyid: 'another-forged-kid' }))).rejects.toBeInstanceOf(
        InvalidTokenError,
      );
      expect(jwks.fetches).toBe(1);
    });
  });

  it('retries a failed JWKS fetch after a short pause, not the whole cooldown', async () => {
    // The signer's first answer fails, as when a service starts before auth is up or while it is slow.
    const failFirst = (res: ServerResponse, fetch: number) => {
      if (fetch > 1) return sendKeys(res);
      res.statusCode = 503;
      res.end();
    };
    await withJwksServer(failFirst, async (jwks) => {
      const remote = new TokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUrl: jwks.url,
        refetchCooldownMs: 60_000,
        retryAfterFailedFetchMs: 0,
      });
      expect(await remote.refresh()).toBe(false);
      await expect(remote.verify(sign())).resolves.toMatchObject({ sub: USER });
      expect(jwks.fetches).toBe(2);
    });
  });

  it('lets concurrent first requests share one JWKS fetch instead of failing on the cooldown', async () => {
    const slowly = (res: ServerResponse) => setTimeout(() => sendKeys(res), 50);
    await withJwksServer(slowly, async (jwks) => {
      const remote = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwks.url });
      const results = await Promise.allSettled([
        remote.verify(sign()),
        remote.verify(sign()),
        remote.verify(sign()),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      expect(jwks.fetches).toBe(1);
    });
  });
});

describe('bearerToken', () => {
  it('takes the token from a Bearer header and nothing else', () => {
    expect(bearerToken('Bearer a.b.c')).toBe('a.b.c');
    expect(bearerToken(['Bearer a.b.c'])).toBe('a.b.c');
    expect(bearerToken('bearer a.b.c')).toBe('a.b.c');
    expect(bearerToken('BEARER a.b.c')).toBe('a.b.c');
    expect(bearerToken('Bearera.b.c')).toBeUndefined();
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer a.b.c extra')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
