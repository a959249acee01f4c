import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { codedError, ErrorCode, UnauthenticatedReason, unauthenticated } from './errors';
import type { RevocationList } from './revocations';

/** The only algorithm this system signs with. Verifiers pin it: `alg` in a token header is never trusted. */
export const ACCESS_TOKEN_ALGORITHM = 'ES256' as const;

export interface AccessTokenClaims {
  sub: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  /** The session the token was issued for (see RevocationList); absent only in tokens from before sessions were revocable. */
  sid?: string;
}

export interface Jwk extends JsonWebKey {
  kid?: string;
  alg?: string;
  use?: string;
}

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  /** Where to fetch the signer's public keys; used when `keys` does not hold the token's `kid`. */
  jwksUrl?: string;
  /** Public keys known up front (configured, or handed over in-process). */
  keys?: Jwk[];
  /** Minimum pause between two JWKS fetches triggered by an unknown `kid`, so forged kids cannot make us hammer the signer. */
  refetchCooldownMs?: number;
  /**
   * Pause after a JWKS fetch that failed (timeout, signer down or still starting). Shorter than the
   * cooldown: a failure is no evidence of forged kids, and a service that started while the signer was
   * slow would otherwise refuse every genuine token for a whole cooldown. Default: one second.
   */
  retryAfterFailedFetchMs?: number;
  fetchTimeoutMs?: number;
  clockToleranceSec?: number;
  /**
   * Longest lifetime (exp - iat) a token may claim. A leaked token that says it lives for a year
   * is refused even though its signature is fine. Default: one hour.
   */
  maxLifetimeSec?: number;
  /** How many verified tokens to remember (see TokenVerifier.verify); 0 verifies every time. */
  verifiedCacheSize?: number;
}

/** Every subject this system issues is a user id (a UUID), every session id too; anything else cannot be one of ours. */
const SUBJECT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const DEFAULT_MAX_TOKEN_LIFETIME_SEC = 3600;
const DEFAULT_VERIFIED_CACHE_SIZE = 5000;
/** Seconds by which a verifier's clock may differ from the signer's (`exp`, `iat`). */
export const DEFAULT_CLOCK_TOLERANCE_SEC = 5;

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
  /** TOKEN_EXPIRED only for a genuine token past its `exp`: the one case a refresh can fix. */
  constructor(
    message: string,
    readonly reason: UnauthenticatedReason = UnauthenticatedReason.TOKEN_INVALID,
  ) {
    super(message);
  }
}

/**
 * Verifies access tokens against the auth service's public keys. Keys are parsed into KeyObjects
 * once and cached by `kid`, because parsing a PEM or JWK on every request costs far more than the
 * ECDSA verification itself.
 */
export class TokenVerifier {
  private readonly keys = new Map<string, KeyObject>();
  /** Tokens whose signature and claims passed, by the exact token text (see verify). */
  private readonly verified = new Map<string, Readonly<AccessTokenClaims>>();
  private lastFetchAt = 0;
  private lastFetchFailed = false;
  private inflightFetch: Promise<void> | undefined;

  constructor(private readonly options: TokenVerifierOptions) {
    for (const jwk of options.keys ?? []) this.addKey(jwk);
  }

  /**
   * The token's claims, or InvalidTokenError. A client sends the same token with every request
   * until it expires, and the ECDSA verification was the largest single cost of a subgraph request:
   * a token that passed once is remembered by its exact text (an altered byte is another token,
   * verified in full) and on later requests only its expiry is checked again, the one thing about
   * it that changes with time. Keys are never dropped by this verifier, so nothing else could turn
   * a verified token invalid. At most `verifiedCacheSize` tokens (5,000: about 2 MB) are
   * remembered; the oldest make room, and only tokens that passed ever get in.
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    const known = this.verified.get(token);
    if (known) {
      if (Math.floor(Date.now() / 1000) < known.exp + this.tolerance) return known;
      this.verified.delete(token);
      throw new InvalidTokenError('Token expired', UnauthenticatedReason.TOKEN_EXPIRED);
    }
    const claims = Object.freeze(await this.check(token));
    const capacity = this.options.verifiedCacheSize ?? DEFAULT_VERIFIED_CACHE_SIZE;
    if (capacity > 0) {
      if (this.verified.size >= capacity) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, claims);
    }
    return claims;
  }

  private get tolerance(): number {
    return this.options.clockToleranceSec ?? 5;
  }

  /** Signature (pinned algorithm, known key), issuer, audience and the time claims, in full. */
  private async check(token: string): Promise<AccessTokenClaims> {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === 'string') throw new InvalidTokenError('Malformed token');
    // RFC 7515 §4.1.11: a `crit` header names extensions the verifier must understand; we understand none.
    if ('crit' in decoded.header) throw new InvalidTokenError('Invalid token');
    const kid = decoded.header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128) {
      throw new InvalidTokenError('Token has no usable key id');
    }
    const key = this.keys.get(kid) ?? (await this.fetchKey(kid));
    if (!key) throw new InvalidTokenError('Token signed with an unknown key');
    const { tolerance } = this;
    try {
      const claims = jwt.verify(token, key, {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: tolerance,
      });
      if (typeof claims === 'string' || typeof claims.sub !== 'string' || claims.sub.length === 0) {
        throw new InvalidTokenError('Token has no subject');
      }
      // jsonwebtoken checks exp only when present, and never looks at iat; a token without an
      // expiry, from the future, or living longer than we ever issue is refused like a forged one.
      const { exp, iat, sub } = claims;
      const now = Math.floor(Date.now() / 1000);
      const maxLifetime = this.options.maxLifetimeSec ?? DEFAULT_MAX_TOKEN_LIFETIME_SEC;
      if (
        typeof exp !== 'number' ||
        typeof iat !== 'number' ||
        iat > now + tolerance ||
        exp - iat > maxLifetime ||
        exp > now + maxLifetime + tolerance ||
        !SUBJECT.test(sub) ||
        (claims.sid !== undefined && (typeof claims.sid !== 'string' || !SUBJECT.test(claims.sid)))
      ) {
        throw new InvalidTokenError('Invalid token');
      }
      return claims as AccessTokenClaims;
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof jwt.TokenExpiredError) {
        throw new InvalidTokenError('Token expired', UnauthenticatedReason.TOKEN_EXPIRED);
      }
      throw new InvalidTokenError('Invalid token');
    }
  }

  /** Whether the verifier holds at least one key, i.e. can verify anything at all. */
  get hasKeys(): boolean {
    return this.keys.size > 0;
  }

  /** Loads the JWKS now (at start-up, so the first request does not pay for it). Failures are reported, not thrown. */
  async refresh(): Promise<boolean> {
    if (!this.options.jwksUrl) return this.hasKeys;
    this.inflightFetch ??= this.loadJwks().finally(() => {
      this.inflightFetch = undefined;
    });
    try {
      await this.inflightFetch;
      return true;
    } catch {
      return false;
    }
  }

  private async fetchKey(kid: string): Promise<KeyObject | undefined> {
    // Requests that arrive while the first fetch is under way wait for it instead of hitting the cooldown.
    if (this.inflightFetch) {
      await this.refresh();
      return this.keys.get(kid);
    }
    const cooldown = this.lastFetchFailed
      ? (this.options.retryAfterFailedFetchMs ?? 1000)
      : (this.options.refetchCooldownMs ?? 30_000);
    if (!this.options.jwksUrl || Date.now() - this.lastFetchAt < cooldown) return undefined;
    await this.refresh();
    return this.keys.get(kid);
  }

  private async loadJwks(): Promise<void> {
    this.lastFetchAt = Date.now();
    this.lastFetchFailed = true;
    const response = await fetch(this.options.jwksUrl!, {
      signal: AbortSignal.timeout(this.options.fetchTimeoutMs ?? 3000),
    });
    if (!response.ok) throw new Error(`JWKS fetch failed with HTTP ${response.status}`);
    const body = (await response.json()) as { keys?: Jwk[] };
    for (const jwk of body.keys ?? []) this.addKey(jwk);
    this.lastFetchFailed = false;
  }

  private addKey(jwk: Jwk): void {
    if (!jwk.kid || jwk.kty !== 'EC' || jwk.crv !== 'P-256') return;
    if (jwk.alg && jwk.alg !== ACCESS_TOKEN_ALGORITHM) return;
    const { d: _private, ...publicPart } = jwk;
    this.keys.set(jwk.kid, createPublicKey({ key: publicPart, format: 'jwk' }));
  }
}

export type BearerAuthentication =
  | { userId: string; sessionId: string | undefined; reason?: undefined; unavailable?: undefined }
  | { userId?: undefined; reason: UnauthenticatedReason; unavailable?: undefined }
  /** A genuine token, but whether its session was revoked cannot be known now (the revocation list is stale). */
  | { userId?: undefined; reason?: undefined; unavailable: true };

const REVOCATIONS_UNAVAILABLE = 'Sessions cannot be checked right now; try again shortly';

/** The `errors[]` entry for a request refused because the revocation list is stale (for answers built without graphql-js). */
export const revocationsUnavailableBody = () => ({
  message: REVOCATIONS_UNAVAILABLE,
  extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfter: 1 },
});

/** Why an authentication failed, as the GraphQL error to throw: UNAUTHENTICATED with its reason, or SERVICE_UNAVAILABLE. */
export function authenticationError(auth: Exclude<BearerAuthentication, { userId: string }>) {
  if (auth.unavailable)
    return codedError(ErrorCode.SERVICE_UNAVAILABLE, REVOCATIONS_UNAVAILABLE, { retryAfter: 1 });
  return unauthenticated(auth.reason);
}

/**
 * The caller behind an `Authorization` header, or why there is none: TOKEN_MISSING without the
 * header, TOKEN_INVALID for a header that is not a bearer JWT or a token that fails verification,
 * TOKEN_EXPIRED for a genuine token past its `exp`, SESSION_REVOKED for a genuine token of a session
 * on the revocation list, and `unavailable` when that list is too old to be trusted (fail closed: a
 * revoked token must not keep working while the list cannot be reloaded). Every service decides
 * this the same way.
 */
export async function authenticateBearer(
  header: string | string[] | undefined,
  verifier: TokenVerifier,
  revocations?: RevocationList,
): Promise<BearerAuthentication> {
  const present = Array.isArray(header) ? header.length > 0 && header[0] !== '' : Boolean(header);
  if (!present) return { reason: UnauthenticatedReason.TOKEN_MISSING };
  const token = bearerToken(header);
  if (!token) return { reason: UnauthenticatedReason.TOKEN_INVALID };
  let claims: AccessTokenClaims;
  try {
    claims = await verifier.verify(token);
  } catch (error) {
    if (error instanceof InvalidTokenError) return { reason: error.reason };
    throw error;
  }
  if (revocations && claims.sid !== undefined) {
    const state = revocations.check(claims.sid);
    if (state === 'revoked') return { reason: UnauthenticatedReason.SESSION_REVOKED };
    if (state === 'unknown') return { unavailable: true };
  }
  return { userId: claims.sub, sessionId: claims.sid };
}

/**
 * Pulls the token out of an `Authorization: Bearer <token>` header; anything else is no token. The
 * scheme is matched in any case (`bearer`, `BEARER`): RFC 7235 makes auth schemes case-insensitive,
 * and clients and proxies that lower-case it are common.
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const match = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/i.exec(value.trim());
  return match?.[1];
}
