import type { ApolloServerOptionsWithSchema, ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import {
  ApolloServerPluginLandingPageLocalDefault,
  type ApolloServerPluginLandingPageLocalDefaultOptions,
} from '@apollo/server/plugin/landingPage/default';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { DocumentNode, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { NodeEnv } from './config';
import { ErrorCode } from './errors';
import { guardEntityRepresentations, hideServiceSdl } from './federation';
import {
  codeClientError,
  logUnexpectedErrors,
  refuseSubscriptions,
  subgraphFormatError,
} from './graphql-errors';
import type { Logger } from './logger';
import { metricsPlugin, type ServiceMetrics } from './metrics';

/** Settings of every service's Apollo Server; only its schema (or gateway) and extra plugins differ. */
export type ApolloSettings<C extends BaseContext> = Omit<ApolloServerOptionsWithSchema<C>, 'schema'>;

export interface ApolloSettingsOptions<C extends BaseContext> {
  /**
   * A subgraph masks and logs its own unexpected errors. The gateway passes the subgraphs' (already
   * masked) errors on as they are, and hides only its own internal failures, in production.
   */
  role: 'subgraph' | 'gateway';
  nodeEnv: NodeEnv;
  logger: Logger;
  metrics: ServiceMetrics;
  /** The IDE's starting document and headers (development and test only); `false`: the service serves its own IDE. */
  landingPage?: ApolloServerPluginLandingPageLocalDefaultOptions | false;
  /** Overrides the default (outside production only), e.g. where an operator turned an IDE on. */
  introspection?: boolean;
  /** Plugins of this service, run before the shared ones. */
  plugins?: ApolloServerPlugin<C>[];
}

/**
 * Unexpected failures of the gateway itself keep their details in the log, not in a production answer;
 * nor does a production answer carry a subgraph's stack trace (a subgraph started outside production
 * by mistake sends its own).
 */
function gatewayErrors(nodeEnv: NodeEnv) {
  const production = nodeEnv === 'production';
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const answer =
      codeClientError(formatted, error) ??
      (production && formatted.extensions?.code === ErrorCode.INTERNAL_SERVER_ERROR
        ? { message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }
        : formatted);
    return production ? withoutStacktrace(answer) : answer;
  };
}

function withoutStacktrace(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (!formatted.extensions || !('stacktrace' in formatted.extensions)) return formatted;
  const { stacktrace: _dropped, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
}

/** Whether the IDE is served (and the CSP relaxed for its assets): everywhere but production. */
export const ideEnabled = (nodeEnv: NodeEnv) => nodeEnv !== 'production';

/**
 * The one place that decides how the services' Apollo Servers behave: introspection and the IDE
 * outside production only, stack traces in development only, CSRF prevention on, no batching,
 * unexpected errors masked (and logged by the subgraphs), no Apollo Studio reporting or federated traces (they would
 * carry error details to whoever asks), and SIGTERM left to main.ts, which drains HTTP first.
 * Hardening (issue 11): subscriptions and client mistakes Apollo leaves uncoded are BAD_REQUEST;
 * production subgraphs answer neither `_service { sdl }` nor "Did you mean ..." suggestions.
 */
export function apolloSettings<C extends BaseContext>(options: ApolloSettingsOptions<C>): ApolloSettings<C> {
  const { nodeEnv, logger } = options;
  return {
    nodeEnv,
    logger,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    stopOnTerminationSignals: false,
    introspection: options.introspection ?? nodeEnv !== 'production',
    includeStacktraceInErrorResponses: nodeEnv === 'development',
    formatError:
      options.role === 'subgraph'
        ? subgraphFormatError({ production: nodeEnv === 'production' })
        : gatewayErrors(nodeEnv),
    // A production subgraph answers `_service { sdl }` to nobody (the gateway's own rules replace these).
    validationRules: options.role === 'subgraph' && nodeEnv === 'production' ? [hideServiceSdl] : [],
    plugins: [
      refuseSubscriptions as ApolloServerPlugin<C>,
      ...(options.plugins ?? []),
      metricsPlugin(options.metrics) as ApolloServerPlugin<C>,
      ...(options.role === 'subgraph' ? [logUnexpectedErrors<C>(logger)] : []),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ideEnabled(nodeEnv) && options.landingPage !== false
        ? ApolloServerPluginLandingPageLocalDefault(options.landingPage)
        : ApolloServerPluginLandingPageDisabled(),
    ],
  };
}

/** What `buildSubgraphSchema` takes, named from its public signature rather than a path inside the package. */
type SubgraphModule = Extract<Parameters<typeof buildSubgraphSchema>[0], { typeDefs: unknown }>;

/**
 * A subgraph's schema from its SDL and its resolvers, typed by the code generator (`npm run codegen`).
 * The generated types are exact per field (`__resolveReference` included), where @apollo/subgraph's
 * map is one loose index signature: the single conversion between the two lives here.
 */
export function subgraphSchema(typeDefs: DocumentNode, resolvers: object): GraphQLSchema {
  // Malformed `_entities` representations are refused as BAD_USER_INPUT, not thrown as internal errors.
  return guardEntityRepresentations(
    buildSubgraphSchema({ typeDefs, resolvers: resolvers as SubgraphModule['resolvers'] }),
  );
}
