import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { expressMiddleware } from '@as-integrations/express5';
import { createDb, isDatabaseReachable, type Knex } from '@imagehub/db';
import {
  createBaseApp,
  createLogger,
  createMetrics,
  jsonErrorHandler,
  type Logger,
  logUnexpectedErrors,
  maskUnexpectedErrors,
  metricsPlugin,
  TokenVerifier,
} from '@imagehub/service-kit';
import express, { type Express } from 'express';
import { authenticate } from './auth';
import type { Config } from './config';
import { type Context, ownImagesLoader } from './context';
import { resolvers } from './resolvers';
import { imageRoutes } from './routes/images';
import { typeDefs } from './schema';
import type { Services } from './services';
import { UrlSigner } from './signing';
import { PostgresBlobStore } from './store/blob-store';
import { ImageStore } from './store/image-store';
import { Limiter } from './upload/limiter';
import { multipartUploads } from './upload/multipart';
import { UploadService } from './upload/upload-service';

export interface ServerOverrides {
  logger?: Logger;
  /** A pool owned by the caller (not closed by close()). */
  db?: Knex;
  /** Clock for URL signing, in ms. */
  now?: () => number;
}

export interface ImageServer {
  app: Express;
  httpServer: http.Server;
  services: Services;
  /** Turns /readyz false at the start of a shutdown (pass as shutdownGracefully's onDraining). */
  drain(): void;
  /** Releases Apollo and the pool; call after the HTTP server has closed. */
  close(): Promise<void>;
}

export async function createServer(config: Config, overrides: ServerOverrides = {}): Promise<ImageServer> {
  const logger = overrides.logger ?? createLogger('subgraph-image', config.logLevel);
  const metrics = createMetrics('subgraph-image');
  const db =
    overrides.db ??
    createDb({
      url: config.databaseUrl,
      applicationName: 'subgraph-image',
      poolMax: config.dbPoolMax,
      log: { warn: (msg) => logger.warn(msg), error: (msg) => logger.error(msg) },
    });
  const verifier = new TokenVerifier({
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    jwksUrl: config.auth.jwksUrl,
    keys: config.auth.publicKeys,
  });
  if (!verifier.hasKeys) {
    // Not fatal: the auth service may start after us; /readyz stays false until keys are loaded.
    void verifier.refresh().then((ok) => {
      if (!ok) logger.warn({ jwksUrl: config.auth.jwksUrl }, 'JWKS not loaded yet');
    });
  }
  const images = new ImageStore(db, new PostgresBlobStore(db));
  const services: Services = {
    config,
    logger,
    verifier,
    images,
    signer: new UrlSigner(config.urlSigningKey, config.publicUrl, config.signedUrlTtlSec, overrides.now),
    uploads: new UploadService(images, new Limiter(config.imageProcessingConcurrency), config),
  };

  let draining = false;
  const app = createBaseApp({
    logger,
    metrics,
    ready: async () => (await isDatabaseReachable(db)) && (verifier.hasKeys || (await verifier.refresh())),
    isDraining: () => draining,
    allowIdeAssets: config.nodeEnv === 'development',
  });
  const httpServer = http.createServer(app);

  const apollo = new ApolloServer<Context>({
    schema: buildSubgraphSchema({ typeDefs, resolvers: resolvers as never }),
    csrfPrevention: true,
    introspection: config.nodeEnv !== 'production',
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM: Apollo's own handler would race it and stop the server before the drain.
    stopOnTerminationSignals: false,
    // No Apollo Studio here: inline traces would only add work to every request.
    plugins: [
      metricsPlugin(metrics),
      logUnexpectedErrors<Context>(logger),
      ApolloServerPluginInlineTraceDisabled(),
    ],
    formatError: maskUnexpectedErrors,
  });
  await apollo.start();

  app.use(imageRoutes({ images: services.images, signer: services.signer, logger }));
  app.use(
    '/graphql',
    multipartUploads({ maxUploadBytes: config.maxUploadBytes, verifier }),
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }): Promise<Context> => {
        const auth = await authenticate(req, verifier);
        return { auth, services, res, ownImages: ownImagesLoader(services.images, auth) };
      },
    }),
  );
  app.use(jsonErrorHandler(logger));

  return {
    app,
    httpServer,
    services,
    drain: () => {
      draining = true;
    },
    async close() {
      draining = true;
      await apollo.stop();
      if (!overrides.db) await db.destroy();
    },
  };
}
