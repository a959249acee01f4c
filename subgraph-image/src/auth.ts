import type { IncomingMessage } from 'node:http';
import {
  authenticateBearer,
  authenticationError,
  type BearerAuthentication,
  type RevocationList,
  type TokenVerifier,
} from '@imagehub/service-kit';

export type Authentication = BearerAuthentication;

// One verification per request, whether the multipart middleware or the GraphQL context asks first.
const verified = new WeakMap<IncomingMessage, Promise<Authentication>>();

/** What a request's token is checked against: the auth service's keys and the revoked sessions. */
export interface TokenChecks {
  verifier: TokenVerifier;
  revocations: RevocationList;
}

/**
 * Verifies the caller's access token here, in the subgraph, whatever the gateway did: signature
 * against the auth service's keys with the algorithm pinned, then iss, aud and exp, then whether
 * its session was revoked (in memory: no query per request).
 */
export function authenticate(req: IncomingMessage, checks: TokenChecks): Promise<Authentication> {
  let result = verified.get(req);
  if (!result) {
    result = authenticateBearer(req.headers.authorization, checks.verifier, checks.revocations);
    verified.set(req, result);
  }
  return result;
}

/** The caller's user id, or UNAUTHENTICATED with the reason (SERVICE_UNAVAILABLE while revocations cannot be checked). */
export function requireUser(auth: Authentication): string {
  if (auth.userId === undefined) throw authenticationError(auth);
  return auth.userId;
}
