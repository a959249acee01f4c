import { GraphQLError } from 'graphql';

/** The error codes of the public contract (api-contract.graphql); clients switch on these. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  BAD_REQUEST: 'BAD_REQUEST',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function codedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const badUserInput = (field: string, message: string) =>
  codedError(ErrorCode.BAD_USER_INPUT, message, { field });

/** An upload request with more than one file, in the same words at the gateway and the image subgraph. */
export const ONE_FILE_PER_REQUEST = 'Only one file per request is accepted';

/**
 * Why a request is UNAUTHENTICATED (`extensions.reason`, api-contract.graphql). A client refreshes
 * on TOKEN_EXPIRED and sends the user to log in on every other reason.
 */
export const UnauthenticatedReason = {
  TOKEN_MISSING: 'TOKEN_MISSING',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  /** Reserved for revocation of access tokens (logout everywhere, password change, account deletion). */
  SESSION_REVOKED: 'SESSION_REVOKED',
  BAD_CREDENTIALS: 'BAD_CREDENTIALS',
  REFRESH_TOKEN_INVALID: 'REFRESH_TOKEN_INVALID',
} as const;
export type UnauthenticatedReason = (typeof UnauthenticatedReason)[keyof typeof UnauthenticatedReason];

/** One wording per reason, at every service, so a client (or a person) sees the same words wherever it failed. */
export const UNAUTHENTICATED_MESSAGES: Record<UnauthenticatedReason, string> = {
  TOKEN_MISSING: 'Authentication required: send Authorization: Bearer <accessToken>',
  TOKEN_INVALID: 'Access token is invalid; log in again',
  TOKEN_EXPIRED: 'Access token has expired; get a new one with refreshToken',
  SESSION_REVOKED: 'Session has been revoked; log in again',
  BAD_CREDENTIALS: 'Invalid email or password',
  REFRESH_TOKEN_INVALID: 'Refresh token is invalid, expired or revoked; log in again',
};

/** The `errors[]` entry of an UNAUTHENTICATED answer, for the places that answer without graphql-js (multipart refusals). */
export function unauthenticatedBody(reason: UnauthenticatedReason) {
  return {
    message: UNAUTHENTICATED_MESSAGES[reason],
    extensions: { code: ErrorCode.UNAUTHENTICATED, reason },
  };
}

export const unauthenticated = (reason: UnauthenticatedReason) =>
  codedError(ErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGES[reason], { reason });

export const tooManyRequests = (retryAfterSeconds: number, message = 'Too many requests, try again later') =>
  codedError(ErrorCode.TOO_MANY_REQUESTS, message, { retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)) });
