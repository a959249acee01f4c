import { createPublicKey, type KeyObject } from 'node:crypto';
import { ACCESS_TOKEN_ALGORITHM, type Jwk, TokenVerifier } from '@imagehub/service-kit';
import jwt from 'jsonwebtoken';
import { keyId } from './signing-keys';

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSec: number;
  /** Longest lifetime the verifier accepts (see TokenVerifier). */
  maxLifetimeSec?: number;
  /** The first key signs; every key is published, so tokens signed by a retiring key keep verifying. */
  privateKeys: KeyObject[];
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
}

/** Signs access tokens and publishes the matching public keys as a JWKS. */
export class AccessTokenIssuer {
  private readonly signingKey: KeyObject;
  private readonly signingKid: string;
  readonly jwks: { keys: Jwk[] };
  /** Verifies with this service's own public keys, in-process: no HTTP round trip to itself. */
  readonly verifier: TokenVerifier;

  constructor(private readonly options: AccessTokenOptions) {
    const [first] = options.privateKeys;
    if (!first) throw new Error('at least one signing key is required');
    this.signingKey = first;
    this.signingKid = keyId(first);
    const seen = new Set<string>();
    const keys: Jwk[] = [];
    for (const privateKey of options.privateKeys) {
      const kid = keyId(privateKey);
      if (seen.has(kid)) continue;
      seen.add(kid);
      const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: 'jwk' });
      keys.push({ kty, crv, x, y, kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' });
    }
    this.jwks = { keys };
    this.verifier = new TokenVerifier({
      issuer: options.issuer,
      audience: options.audience,
      keys,
      maxLifetimeSec: options.maxLifetimeSec,
    });
  }

  /** `sid` names the session, so that revoking it refuses this token everywhere (RevocationList). */
  sign(userId: string, sessionId: string): IssuedAccessToken {
    const token = jwt.sign({ sid: sessionId }, this.signingKey, {
      algorithm: ACCESS_TOKEN_ALGORITHM,
      keyid: this.signingKid,
      subject: userId,
      issuer: this.options.issuer,
      audience: this.options.audience,
      expiresIn: this.options.ttlSec,
    });
    return { token, expiresIn: this.options.ttlSec };
  }
}
