import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ErrorCode, type Logger } from '@imagehub/service-kit';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Context } from './context';

const INTERNAL: GraphQLFormattedError['extensions'] = { code: ErrorCode.INTERNAL_SERVER_ERROR };

/**
 * Errors we raised on purpose (a GraphQLError with a code: validation, auth, throttling, and
 * Apollo's own parse/validation errors) go out as they are. Anything else is a bug or an outage
 * whose message may hold SQL or internals: the client gets a generic INTERNAL_SERVER_ERROR.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const code = formatted.extensions?.code;
  if (
    original instanceof GraphQLError &&
    typeof code === 'string' &&
    code !== ErrorCode.INTERNAL_SERVER_ERROR
  ) {
    return formatted;
  }
  return {
    message: 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: INTERNAL,
  };
}

/** Logs what `formatError` hides, with the request id, so the masked error can still be found. */
export function logUnexpectedErrors(fallback: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            const expected =
              original instanceof GraphQLError &&
              typeof original.extensions?.code === 'string' &&
              original.extensions.code !== ErrorCode.INTERNAL_SERVER_ERROR;
            if (expected) continue;
            (contextValue?.log ?? fallback).error(
              { err: original, path: error.path },
              'unexpected GraphQL error',
            );
          }
        },
      };
    },
  };
}
