import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from './errors';
import type { Logger } from './logger';

/**
 * Postgres error classes 08 (connection exception) and 57P (operator intervention: shutdown,
 * crash, cannot connect now), plus socket errors, mean the database is away, not that the request
 * was wrong. knex reports an exhausted wait for a pool connection as a KnexTimeoutError.
 */
const OUTAGE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

export function isDatabaseOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'KnexTimeoutError') return true;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (OUTAGE_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))
  ) {
    return true;
  }
  return /^Connection terminated|^connect ECONNREFUSED|Client has encountered a connection error/.test(
    error.message,
  );
}

/** Deliberate errors: a GraphQLError we (or Apollo) raised with a contract code. */
function isDeliberate(original: unknown, code: unknown): boolean {
  return (
    original instanceof GraphQLError && typeof code === 'string' && code !== ErrorCode.INTERNAL_SERVER_ERROR
  );
}

/**
 * Apollo `formatError` for every service: deliberate errors go out as they are; a database outage
 * becomes SERVICE_UNAVAILABLE (clients may retry); anything else is a bug whose message may hold
 * SQL or internals, so the client gets a generic INTERNAL_SERVER_ERROR.
 */
export function maskUnexpectedErrors(
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (isDeliberate(original, formatted.extensions?.code)) return formatted;
  const outage = isDatabaseOutage(original);
  return {
    message: outage ? 'Service temporarily unavailable, try again shortly' : 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: outage ? ErrorCode.SERVICE_UNAVAILABLE : ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

/** Logs what `maskUnexpectedErrors` hides, with the request's logger, so the masked error can be found. */
export function logUnexpectedErrors<C extends object>(fallback: Logger): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (
              isDeliberate(original, original instanceof GraphQLError ? original.extensions?.code : undefined)
            ) {
              continue;
            }
            // A request-scoped logger (with the request id) when the context carries one.
            const log = (contextValue as { log?: Logger } | undefined)?.log ?? fallback;
            if (isDatabaseOutage(original))
              log.warn({ err: original, path: error.path }, 'database unavailable');
            else log.error({ err: original, path: error.path }, 'unexpected GraphQL error');
          }
        },
      };
    },
  };
}
