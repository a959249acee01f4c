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

/**
 * Apollo refuses some requests with a GraphQLError that carries an HTTP 4xx status but no code
 * (an APQ hash that does not match its query, for one); enrichment would label it
 * INTERNAL_SERVER_ERROR. It is the client's mistake: BAD_REQUEST.
 */
function isCodelessClientError(original: unknown): boolean {
  if (!(original instanceof GraphQLError) || original.extensions?.code !== undefined) return false;
  const status = (original.extensions?.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The coded shape of an error that Apollo raised for a bad request without a code; undefined for
 * every other error. For formatError hooks (the gateway's, and maskUnexpectedErrors).
 */
export function codeClientError(
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError | undefined {
  if (!isCodelessClientError(error)) return undefined;
  return { message: formatted.message, extensions: { code: ErrorCode.BAD_REQUEST } };
}

const SUGGESTION = /\s*Did you mean [^?]*\?$/;

/** "Cannot query field "emial" on type "User". Did you mean "email"?" without the second sentence. */
export function withoutSuggestions(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return SUGGESTION.test(formatted.message)
    ? { ...formatted, message: formatted.message.replace(SUGGESTION, '') }
    : formatted;
}

/**
 * The schema has no Subscription type, and graphql-js validation does not notice: execution then
 * throws (a 500 at the gateway, INTERNAL_SERVER_ERROR at a subgraph). Refused as BAD_REQUEST first.
 */
export const refuseSubscriptions: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation(ctx) {
        if (ctx.operation?.operation !== 'subscription') return;
        throw new GraphQLError('Subscriptions are not supported', {
          extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } },
        });
      },
    };
  },
};

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
  const clientError = codeClientError(formatted, original);
  if (clientError) return clientError;
  const outage = isDatabaseOutage(original);
  return {
    message: outage ? 'Service temporarily unavailable, try again shortly' : 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: outage ? ErrorCode.SERVICE_UNAVAILABLE : ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

/** The subgraphs' `formatError`: unexpected errors masked, and in production no "Did you mean ...". */
export function subgraphFormatError(options: { production: boolean }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const masked = maskUnexpectedErrors(formatted, error);
    return options.production ? withoutSuggestions(masked) : masked;
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
              isDeliberate(
                original,
                original instanceof GraphQLError ? original.extensions?.code : undefined,
              ) ||
              isCodelessClientError(original)
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
