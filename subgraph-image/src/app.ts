import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { createDb, isDatabaseReachable, type Knex } from '@imagehub/db';
import {
  apolloSettings,
  closeServer,
  createBaseApp,
  createLogger,
  createMetrics,
  createMetricsServer,
  ideEnabled,
  jsonErrorHandler,
  type Logger,
  observedGauge,
  RevocationList,
  type Service,
  singleUseUploads,
  subgraphSchema,
  TokenVerifier,
} from '@imagehub/service-kit';
import express, { type Express } from 'express';
import { Upload } from 'graphql-upload-minimal';
import { authenticate } from './auth';
import type { Config } from './config';
import { type Context, clientGoneSignal, ownImagesLoader } from './context';
import { resolvers } from './resolvers';
import { imageRoutes } from './routes/images';
import { typeDefs } from './schema';
import type { Services } from './services';
import { UrlSigner } from './signing';
import { PostgresBlobStore } from './store/blob-store';
import { ImageStore } from './store/image-store';
import { UploadAdmission } from './upload/admission';
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

export interface ImageServer extends Service {
  app: Express;
  services: Services;
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
    maxLifetimeSec: config.auth.maxTokenLifetimeSec,
  });
  if (!verifier.hasKeys) {
    // Not fatal: the auth service may start after us; /readyz stays false until keys are loaded.
    void verifier.refresh().then((ok) => {
      if (!ok) logger.warn({ jwksUrl: config.auth.jwksUrl }, 'JWKS not loaded yet');
    });
  }
  // Through a view of auth.session_revocations that shows this role the session ids and nothing else,
  // on a connection of its own: queued behind uploads for a free pool connection, the poll could
  // fall behind the staleness bound under load and refuse every signed-in request.
  const revocationDb = createDb({
    url: config.databaseUrl,
    applicationName: 'subgraph-image-revocations',
    poolMax: 1,
    statementTimeoutMs: 2_000,
  });
  const revocations = new RevocationList({
    load: () => revocationDb('image.revoked_sessions').pluck('session_id'),
    ...config.revocation,
    logger,
  });
  await revocations.start();
  const images = new ImageStore(db, new PostgresBlobStore(db));
  const processing = new Limiter(config.imageProcessingConcurrency);
  const services: Services = {
    config,
    logger,
    verifier,
    revocations,
    images,
    signer: new UrlSigner(config.urlSigningKey, config.publicUrl, config.signedUrlTtlSec, overrides.now),
    uploads: new UploadService(images, processing, new UploadAdmission(db, config.uploads), config),
  };

  observedGauge(
    metrics,
    'image_processing_running',
    'Images being decoded and encoded now',
    () => processing.running,
  );
  observedGauge(
    metrics,
    'image_processing_waiting',
    'Uploads queued for a decoder',
    () => processing.waiting,
  );

  let draining = false;
  const app = createBaseApp({
    logger,
    metrics,
    ready: async () => (await isDatabaseReachable(db)) && (verifier.hasKeys || (await verifier.refresh())),
    isDraining: () => draining,
    allowIdeAssets: ideEnabled(config.nodeEnv),
  });
  const httpServer = http.createServer(app);

  const apollo = new ApolloServer<Context>({
    ...apolloSettings<Context>({
      role: 'subgraph',
      nodeEnv: config.nodeEnv,
      logger,
      metrics,
      plugins: [singleUseUploads<Context>((value) => value instanceof Upload)],
    }),
    schema: subgraphSchema(typeDefs, resolvers),
  });
  await apollo.start();

  app.use(imageRoutes({ images: services.images, signer: services.signer, logger }));
  app.use(
    '/graphql',
    multipartUploads({ maxUploadBytes: config.maxUploadBytes, verifier, revocations }),
    express.json({ limit: config.maxJsonBodyBytes }),
    expressMiddleware(apollo, {
      context: async ({ req, res }): Promise<Context> => {
        const auth = await authenticate(req, services);
        return {
          auth,
          services,
          res,
          clientGone: clientGoneSignal(res),
          ownImages: ownImagesLoader(services.images, auth),
        };
      },
    }),
  );
  app.use(jsonErrorHandler(logger));

  const metricsServer = createMetricsServer(metrics);
  return {
    app,
    httpServer,
    metricsServer,
    logger,
    services,
    drain: () => {
      draining = true;
    },
    async close() {
      draining = true;
      revocations.stop();
      await revocationDb.destroy();
      await closeServer(metricsServer);
      await apollo.stop();
      if (!overrides.db) await db.destroy();
    },
  };
}
