/**
 * Hostile access tokens. Some are signed with the auth service's real development key (read from
 * its DATA_DIR), so the only thing wrong with them is the one claim under test: expiry, audience,
 * issuer. A verifier that checked only the signature would accept those.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface TokenFactory {
  kid: string;
  /** A well-formed token signed with the real key; claims can be overridden or removed (undefined). */
  real(claims?: Record<string, unknown>, header?: Record<string, unknown>): string;
  forged(sub: string): string;
  expired(sub: string): string;
  algNone(sub: string): string;
  /** HS256 with the public key's PEM as the HMAC secret: the classic algorithm-confusion attack. */
  hsWithPublicKey(sub: string): string;
  wrongAudience(sub: string): string;
  wrongIssuer(sub: string): string;
  /** A genuine token whose payload was edited to name another user; the signature no longer matches. */
  tamperedSubject(genuine: string, otherSub: string): string;
  unknownKid(sub: string): string;
}

export function tokenFactory(dataDir: string, sampleToken: string): TokenFactory {
  const privateKey = createPrivateKey(readFileSync(path.join(dataDir, 'keys', 'jwt-es256.pem'), 'utf8'));
  const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const { kid } = JSON.parse(Buffer.from(sampleToken.split('.')[0] ?? '', 'base64url').toString()) as {
    kid: string;
  };
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (sub: string, extra: Record<string, unknown> = {}) => ({
    sub,
    iss: 'imagehub-auth',
    aud: 'imagehub',
    iat: now(),
    exp: now() + 600,
    ...extra,
  });
  const sign = (payload: object, key: KeyObject, header: Record<string, unknown> = { kid }) =>
    jwt.sign(payload, key, { algorithm: 'ES256', header: { alg: 'ES256', ...header } as jwt.JwtHeader });
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

  return {
    kid,
    // A claim set to undefined is left out of the token (jsonwebtoken would refuse an undefined exp).
    real: (extra = {}, header) =>
      sign(
        Object.fromEntries(
          Object.entries(claims(String(extra.sub ?? ''), extra)).filter(([, v]) => v !== undefined),
        ),
        privateKey,
        header,
      ),
    forged: (sub) => sign(claims(sub), otherKey),
    expired: (sub) => sign(claims(sub, { iat: now() - 7200, exp: now() - 3600 }), privateKey),
    algNone: (sub) => `${b64url({ alg: 'none', typ: 'JWT', kid })}.${b64url(claims(sub))}.`,
    hsWithPublicKey: (sub) => {
      const unsigned = `${b64url({ alg: 'HS256', typ: 'JWT', kid })}.${b64url(claims(sub))}`;
      return `${unsigned}.${createHmac('sha256', publicPem).update(unsigned).digest('base64url')}`;
    },
    wrongAudience: (sub) => sign(claims(sub, { aud: 'someone-else' }), privateKey),
    wrongIssuer: (sub) => sign(claims(sub, { iss: 'evil-issuer' }), privateKey),
    tamperedSubject: (genuine, otherSub) => {
      const [header, payload, signature] = genuine.split('.');
      const edited = { ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), sub: otherSub };
      return `${header}.${b64url(edited)}.${signature}`;
    },
    unknownKid: (sub) => sign(claims(sub), privateKey, { kid: 'no-such-key' }),
  };
}
