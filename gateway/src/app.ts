import { readFileSync } from 'node:fs';
import http from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  apolloSettings,
  authenticateBearer,
  closeServer,
  createBaseApp,
  createLogger,
  createMetricsServer,
  jsonErrorHandler,
  type Logger,
  type Service,
  singleUseUploads,
  TokenVerifier,
  trustProxySetting,
} from '@imagehub/service-kit';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { GraphQLError, type ValidationContext } from 'graphql';
import { Pool } from 'undici';
import type { Config } from './config';
import { corsFor } from './http/cors';
import { IDE_ASSETS_PATH, ideAssets, idePage } from './http/ide';
import { imageProxy } from './http/image-proxy';
import { webApp } from './http/web-app';
import { costLimit } from './limits/cost';
import { createGatewayMetrics, type GatewayMetrics } from './metrics';
import { subgraphReady } from './readiness';
import { authRevocationList } from './revocations';
import { contextFromRequest, type GatewayContext } from './subgraphs/context';
import { SubgraphDataSource } from './subgraphs/data-source';
import { SUPERGRAPH_PATH } from './supergraph/paths';
import { multipartUploads } from './uploads/multipart';
import { UploadSlots } from './uploads/slots';
import { StreamedUpload } from './uploads/upload';

export interface ServerOverrides {
  logger?: Logger;
  /** Supergraph SDL to serve instead of the committed gateway/supergraph.graphql. */
  supergraphSdl?: string;
}

export interface GatewayServer extends Service {
  app: Express;
  metrics: GatewayMetrics;
}

const SUBGRAPH_NAMES = ['auth', 'image'] as const;

export async function createServer(config: Config, overrides: ServerOverrides = {}): Promise<GatewayServer> {
  const logger = overrides.logger ?? createLogger('gateway', config.logLevel);
  const metrics = createGatewayMetrics();
  const pools = Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => [
      name,
      new Pool(new URL(config.subgraphs[name]).origin, {
        connections: config.subgraphConnections,
        // Reuse sockets across requests; undici also honours the subgraph's own Keep-Alive hint.
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
        connect: { timeout: 2_000 },
      }),
    ]),
  ) as Record<(typeof SUBGRAPH_NAMES)[number], Pool>;

  // Only uploads are checked here (see multipartUploads); every other request is the subgraphs' to judge.
  const uploadTokens = new TokenVerifier({
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    jwksUrl: config.jwksUrl,
    maxLifetimeSec: config.jwt.maxTokenLifetimeSec,
  });
  // Long-polled from the auth service; the gateway has no database. A revoked token is refused
  // here before its upload streams anywhere (the image subgraph would refuse it too).
  const revocations = authRevocationList(config, logger);
  // One attempt before serving, so that an auth service already up is not a reason to refuse the
  // first uploads. A failure is not fatal (the auth service may start after the gateway): until a
  // load succeeds, signed-in uploads are SERVICE_UNAVAILABLE (the list is unknown, not empty).
  await revocations.start();
  const uploadSlots = new UploadSlots(config.uploadSlots);
  const dataSources: SubgraphDataSource[] = [];
  // @apollo/gateway otherwise sends host metrics to usage-reporting.api.apollographql.com, probes
  // the cloud metadata addresses (169.254.169.254) at start, and on shutdown waits up to 10 s for
  // that export where it cannot get out, so `docker stop` ran into its grace period and SIGKILL.
  // Its only switch is this variable, read when the gateway is constructed.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const gateway = new ApolloGateway({
    supergraphSdl: overrides.supergraphSdl ?? readFileSync(config.supergraphPath ?? SUPERGRAPH_PATH, 'utf8'),
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
        timeoutMs: config.subgraphTimeoutMs,
        uploadTimeoutMs: config.uploadTimeoutMs,
        // One socket per upload slot: the slot pool, not the socket pool, decides who waits.
        uploadSockets: config.uploadSlots.total,
      });
      dataSources.push(dataSource);
      return dataSource;
    },
  });

  // Armor starts every message with "Syntax Error: ", though none of these is one: each refusal is
  // reported again without it (still GRAPHQL_VALIDATION_FAILED, HTTP 400).
  const armorRefusal = {
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        const plain = new GraphQLError(error.message.replace(/^Syntax Error: /, ''));
        if (!context) throw plain;
        context.reportError(plain);
      },
    ],
  };
  const armor = new ApolloArmor({
    maxDepth: { n: config.limits.maxQueryDepth, ...armorRefusal },
    maxAliases: { n: config.limits.maxAliases, ...armorRefusal },
    // graphql-js enforces this during parsing itself (parseOptions below) and answers 400; armor's
    // version throws from a plugin hook, which Apollo Server turns into a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: config.limits.maxDirectives, ...armorRefusal },
    // Armor's cost limit is a validation rule: it never sees variables, so `first: $n` cost what no
    // `first` costs. limits/cost.ts counts with the variables instead.
    costLimit: { enabled: false },
    // Suggestions help while writing queries; in production they help someone mapping the schema.
    blockFieldSuggestion: { enabled: config.nodeEnv === 'production' },
  }).protect();

  const apollo = new ApolloServer<GatewayContext>({
    ...apolloSettings<GatewayContext>({
      role: 'gateway',
      nodeEnv: config.nodeEnv,
      logger,
      metrics,
      // The IDE is ours (http/ide.ts): Apollo's landing page would load its own from a CDN.
      landingPage: false,
      introspection: config.graphqlIde,
      plugins: [
        requireResolvableOperation,
        singleUseUploads<GatewayContext>((value) => value instanceof StreamedUpload),
        ...(armor.plugins as ApolloServerPlugin<GatewayContext>[]),
        costLimit<GatewayContext>(config.limits.maxCost),
      ],
    }),
    gateway,
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: config.limits.maxTokens },
  });
  await apollo.start();
  let supergraphLoaded = true;
  let draining = false;

  const app = createBaseApp({
    logger,
    metrics,
    isDraining: () => draining,
    ready: async () => {
      if (!supergraphLoaded) return false;
      const answers = await Promise.all(
        SUBGRAPH_NAMES.map((name) => subgraphReady(pools[name], config.readyCheckTimeoutMs)),
      );
      return answers.every(Boolean);
    },
  });
  // The client's address (req.ip) is its socket's, unless the request comes from a listed proxy.
  app.set('trust proxy', trustProxySetting(config.trustedProxies));
  app.use(corsFor(config.corsOrigins));
  app.use(webApp(config.webDir));
  app.get(
    '/images/*path',
    imageProxy({ pool: pools.image, metrics, logger, timeoutMs: config.subgraphTimeoutMs }),
  );
  const graphqlHandlers = [
    multipartUploads({
      maxFileBytes: config.maxUploadBytes,
      maxFieldBytes: config.maxJsonBodyBytes,
      onUploadBytes: (bytes) => metrics.uploadBytes.inc(bytes),
      onRefused: () => metrics.uploads.inc({ outcome: 'refused' }),
      authenticate: (req) => authenticateBearer(req.headers.authorization, uploadTokens, revocations),
      slots: uploadSlots,
      minBytesPerSec: config.uploadMinBytesPerSec,
      rateGraceMs: config.uploadRateGraceMs,
    }),
    express.json({ limit: config.maxJsonBodyBytes }),
    (req: Request, _res: Response, next: NextFunction) => {
      // Express 5 leaves req.body unset on GET; Apollo's integration insists it exists.
      if (!('body' in req) || req.body === undefined) req.body = {};
      next();
    },
    expressMiddleware(apollo, { context: async ({ req, res }) => contextFromRequest(req, res) }),
  ];
  if (config.graphqlIde) {
    app.use(IDE_ASSETS_PATH, ideAssets());
    graphqlHandlers.unshift(idePage());
  }
  // Routes rather than a mount: a mount rewrites req.url, and the latency metric labels by path.
  app.get('/graphql', ...graphqlHandlers);
  app.post('/graphql', ...graphqlHandlers);
  app.use(jsonErrorHandler(logger));

  const httpServer = http.createServer(app);
  const metricsServer = createMetricsServer(metrics);
  return {
    app,
    httpServer,
    metricsServer,
    logger,
    metrics,
    drain: () => {
      draining = true;
    },
    close: async () => {
      draining = true;
      revocations.stop();
      supergraphLoaded = false;
      await closeServer(metricsServer);
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
