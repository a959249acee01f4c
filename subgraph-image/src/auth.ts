import type { IncomingMessage } from 'node:http';
import {
  authenticateBearer,
  type BearerAuthentication,
  type TokenVerifier,
  unauthenticated,
} from '@imagehub/service-kit';

export type Authentication = BearerAuthentication;

// One verification per request, whether the multipart middleware or the GraphQL context asks first.
const verified = new WeakMap<IncomingMessage, Promise<Authentication>>();

/**
 * Verifies the caller's access token here, in the subgraph, whatever the gateway did: signature
 * against the auth service's keys with the algorithm pinned, then iss, aud and exp.
 */
export function authenticate(req: IncomingMessage, verifier: TokenVerifier): Promise<Authentication> {
  let result = verified.get(req);
  if (!result) {
    result = authenticateBearer(req.headers.authorization, verifier);
    verified.set(req, result);
  }
  return result;
}

/** The caller's user id, or UNAUTHENTICATED with the reason. */
export function requireUser(auth: Authentication): string {
  if (auth.reason) throw unauthenticated(auth.reason);
  return auth.userId;
}
