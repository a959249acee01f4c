import type { IncomingMessage } from 'node:http';
import { bearerToken, InvalidTokenError, type TokenVerifier, unauthenticated } from '@imagehub/service-kit';

export type Authentication = { userId: string } | { userId?: undefined; problem: string };

// One verification per request, whether the multipart middleware or the GraphQL context asks first.
const verified = new WeakMap<IncomingMessage, Promise<Authentication>>();

/**
 * Verifies the caller's access token here, in the subgraph, whatever the gateway did: signature
 * against the auth service's keys with the algorithm pinned, then iss, aud and exp.
 */
export function authenticate(req: IncomingMessage, verifier: TokenVerifier): Promise<Authentication> {
  let result = verified.get(req);
  if (!result) {
    result = verify(req, verifier);
    verified.set(req, result);
  }
  return result;
}

async function verify(req: IncomingMessage, verifier: TokenVerifier): Promise<Authentication> {
  const token = bearerToken(req.headers.authorization);
  if (!token) return { problem: 'Authentication required' };
  try {
    const claims = await verifier.verify(token);
    return { userId: claims.sub };
  } catch (error) {
    if (error instanceof InvalidTokenError) return { problem: 'Invalid or expired access token' };
    throw error;
  }
}

/** The caller's user id, or UNAUTHENTICATED. */
export function requireUser(auth: Authentication): string {
  if (auth.userId === undefined) throw unauthenticated(auth.problem);
  return auth.userId;
}
