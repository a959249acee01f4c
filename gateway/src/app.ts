import { readFileSync } from 'node:fs';
import http from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  bearerToken,
  createBaseApp,
  createLogger,
  ErrorCode,
  InvalidTokenError,
  jsonErrorHandler,
  type Logger,
  metricsPlugin,
  TokenVerifier,
} from '@imagehub/service-kit';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { GraphQLError } from 'graphql';
import { Pool } from 'undici';
import type { Config } from './config';
import { corsFor } from './http/cors';
import { imageProxy } from './http/image-proxy';
import { createGatewayMetrics, type GatewayMetrics } from './metrics';
import { subgraphReady } from './readiness';
import { contextFromRequest, type GatewayContext } from './subgraphs/context';
import { SubgraphDataSource } from './subgraphs/data-source';
import { SUPERGRAPH_PATH } from './supergraph/paths';
import { multipartUploads } from './uploads/multipart';

export interface ServerOverrides {
  logger?: Logger;
  /** Supergraph SDL to serve instead of the committed gateway/supergraph.graphql. */
  supergraphSdl?: string;
}

export interface GatewayServer {
  app: Express;
  httpServer: http.Server;
  metrics: GatewayMetrics;
  /** Marks the gateway as draining: `/readyz` turns 503 so load balancers stop sending work. */
  drain(): void;
  close(): Promise<void>;
}

const SUBGRAPH_NAMES = ['auth', 'image'] as const;

/** What the IDE opens with in development: the first step of the journey, and where the token goes. */
const SANDBOX_DOCUMENT = `# 1. Run Register (or Login), 2. copy accessToken into the Authorization header below, 3. run Me.
mutation Register {
  register(name: "Ada", email: "ada@example.com", password: "correct horse battery staple") {
    accessToken
    refreshToken
    user { id name email }
  }
}

query Me {
  me { id name email images(first: 20) { totalCount edges { node { id filename url thumbnailUrl } } } }
}
`;

export async function createServer(config: Config, overrides: ServerOverrides = {}): Promise<GatewayServer> {
  const logger = overrides.logger ?? createLogger('gateway', config.LOG_LEVEL);
  const metrics = createGatewayMetrics();
  const pools = Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => [
      name,
      new Pool(new URL(config.subgraphs[name]).origin, {
        connections: config.SUBGRAPH_CONNECTIONS,
        // Reuse sockets across requests; undici also honours the subgraph's own Keep-Alive hint.
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
        connect: { timeout: 2_000 },
      }),
    ]),
  ) as Record<(typeof SUBGRAPH_NAMES)[number], Pool>;

  // Only uploads are checked here (see multipartUploads); every other request is the subgraphs' to judge.
  const uploadTokens = new TokenVerifier({
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    jwksUrl: config.jwksUrl,
  });
  const dataSources: SubgraphDataSource[] = [];
  const gateway = new ApolloGateway({
    supergraphSdl: overrides.supergraphSdl ?? readFileSync(config.SUPERGRAPH_PATH ?? SUPERGRAPH_PATH, 'utf8'),
    logger,
    buildService: ({ name }) => {
      if (name !== 'auth' && name !== 'image')
        throw new Error(`The supergraph names an unknown subgraph "${name}"`);
      const dataSource = new SubgraphDataSource({
        name,
        url: config.subgraphs[name],
        pool: pools[name],
        metrics,
        logger,
        timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
        uploadTimeoutMs: config.UPLOAD_TIMEOUT_MS,
      });
      dataSources.push(dataSource);
      return dataSource;
    },
  });

  const armor = new ApolloArmor({
    maxDepth: { n: config.MAX_QUERY_DEPTH },
    maxAliases: { n: config.MAX_ALIASES },
    // graphql-js enforces this during parsing itself (parseOptions below) and answers 400; armor's
    // version throws from a plugin hook, which Apollo Server turns into a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: config.MAX_DIRECTIVES },
    costLimit: { maxCost: config.MAX_COST },
    // Suggestions help while writing queries; in production they help someone mapping the schema.
    blockFieldSuggestion: { enabled: config.production },
  }).protect();

  const plugins: ApolloServerPlugin<GatewayContext>[] = [
    requireResolvableOperation,
    ...(armor.plugins as ApolloServerPlugin<GatewayContext>[]),
    metricsPlugin(metrics) as ApolloServerPlugin<GatewayContext>,
    ApolloServerPluginCacheControlDisabled(),
    ApolloServerPluginUsageReportingDisabled(),
    config.production
      ? ApolloServerPluginLandingPageDisabled()
      : ApolloServerPluginLandingPageLocalDefault({
          document: SANDBOX_DOCUMENT,
          headers: { Authorization: 'Bearer <accessToken from register or login>' },
          includeCookies: false,
        }),
  ];

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    logger,
    plugins,
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: config.MAX_TOKENS },
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // main.ts owns SIGTERM/SIGINT (drain HTTP first); Apollo's own handler would race it.
    stopOnTerminationSignals: false,
    introspection: !config.production,
    includeStacktraceInErrorResponses: !config.production,
    formatError: (formatted) => {
      // Unexpected failures keep their details in the log, not in a production response.
      if (config.production && formatted.extensions?.code === ErrorCode.INTERNAL_SERVER_ERROR) {
        return { message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
      }
      return formatted;
    },
  });
  await apollo.start();
  let supergraphLoaded = true;
  let draining = false;

  const app = createBaseApp({
    logger,
    metrics,
    isDraining: () => draining,
    allowIdeAssets: !config.production,
    ready: async () => {
      if (!supergraphLoaded) return false;
      const answers = await Promise.all(
        SUBGRAPH_NAMES.map((name) => subgraphReady(pools[name], config.READY_CHECK_TIMEOUT_MS)),
      );
      return answers.every(Boolean);
    },
  });
  app.use(corsFor(config.CORS_ORIGINS));
  app.get(
    '/images/*path',
    imageProxy({ pool: pools.image, metrics, logger, timeoutMs: config.SUBGRAPH_TIMEOUT_MS }),
  );
  const graphqlHandlers = [
    multipartUploads({
      maxFileBytes: config.MAX_UPLOAD_BYTES,
      maxFieldBytes: config.MAX_JSON_BODY_BYTES,
      onUploadBytes: (bytes) => metrics.uploadBytes.inc(bytes),
      onRefused: () => metrics.uploads.inc({ outcome: 'refused' }),
      authenticate: async (req) => {
        const token = bearerToken(req.headers.authorization);
        if (!token) return 'Authentication required';
        try {
          await uploadTokens.verify(token);
          return undefined;
        } catch (error) {
          return error instanceof InvalidTokenError ? error.message : 'Invalid token';
        }
      },
    }),
    express.json({ limit: config.MAX_JSON_BODY_BYTES }),
    (req: Request, _res: Response, next: NextFunction) => {
      // Express 5 leaves req.body unset on GET; Apollo's integration insists it exists.
      if (!('body' in req) || req.body === undefined) req.body = {};
      next();
    },
    expressMiddleware(apollo, { context: async ({ req, res }) => contextFromRequest(req, res) }),
  ];
  // Routes rather than a mount: a mount rewrites req.url, and the latency metric labels by path.
  app.get('/graphql', ...graphqlHandlers);
  app.post('/graphql', ...graphqlHandlers);
  app.use(jsonErrorHandler(logger));

  const httpServer = http.createServer(app);
  return {
    app,
    httpServer,
    metrics,
    drain: () => {
      draining = true;
    },
    close: async () => {
      draining = true;
      supergraphLoaded = false;
      await apollo.stop();
      await Promise.all(Object.values(pools).map((pool) => pool.close()));
      for (const dataSource of dataSources) dataSource.close();
    },
  };
}

/**
 * Several operations without an operationName (or a name that is not in the document) would reach
 * the gateway's executor, which throws and turns a client mistake into a 500. Answer 400 instead.
 */
const requireResolvableOperation: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation(ctx) {
        if (ctx.operation) return;
        const name = ctx.request.operationName;
        throw new GraphQLError(
          name
            ? `Unknown operation named "${name.slice(0, 64)}"`
            : 'Must provide operation name if query contains multiple operations',
          { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } },
        );
      },
    };
  },
};
