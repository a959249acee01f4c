import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import {
  isDatabaseReachable,
  type Knex,
  listenForRevocations,
  revocationPollDb,
  serviceDb,
} from '@imagehub/db';
import type { Consumer } from '@imagehub/messaging';
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
import { createBus, subscribe } from './bus';
import type { Config } from './config';
import { type Context, clientGoneSignal, ownImagesLoader } from './context';
import { UserDeletedHandler, userDeletedSubscription } from './events/user-deleted';
import { JobWaiter } from './jobs/job-waiter';
import { UploadJobs } from './jobs/upload-jobs';
import { resolvers } from './resolvers';
import { imageRoutes } from './routes/images';
import { typeDefs } from './schema';
import type { Services } from './services';
import { UrlSigner } from './signing';
import { PostgresBlobStore } from './store/blob-store';
import { ImageStore } from './store/image-store';
import { UploadAdmission } from './upload/admission';
import { multipartUploads } from './upload/multipart';
import { UploadBuffers } from './upload/upload-buffers';
import { UploadService } from './upload/upload-service';

/** How long after its deadline a job row (and its quarantined original) is swept. */
const JOB_SWEEP_GRACE_MS = 10 * 60_000;
/** Upload buffers unused this long are dropped: a burst of uploads does not stay in the RSS. */
const UPLOAD_BUFFER_IDLE_MS = 30_000;

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
  /** What this process does with a `user.deleted` event (it consumes them itself). */
  userDeleted: UserDeletedHandler;
}

export async function createServer(config: Config, overrides: ServerOverrides = {}): Promise<ImageServer> {
  const logger = overrides.logger ?? createLogger('subgraph-image', config.logLevel);
  const metrics = createMetrics('subgraph-image');
  const db = overrides.db ?? serviceDb(config, logger, 'subgraph-image');
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
  // Through a view of auth.session_revocations that shows this role the session ids and nothing else.
  const revocationDb = revocationPollDb(config, 'subgraph-image');
  const revocations = new RevocationList({
    load: () => revocationDb('image.revoked_sessions').pluck('session_id'),
    ...config.revocation,
    logger,
  });
  await revocations.start();
  // Told of each revocation as it commits (NOTIFY from auth.session_revocations); the poll is the backstop.
  const revocationListener = listenForRevocations(config, 'subgraph-image', revocations, logger);
  const images = new ImageStore(db, new PostgresBlobStore(db));
  // Jobs to the workers and events to whoever listens, through image.outbox.
  const bus = createBus({
    bus: config.bus,
    databaseUrl: config.databaseUrl,
    db,
    applicationName: 'subgraph-image',
    logger,
  });
  const jobs = new UploadJobs(db, config.bus.jobQueue);
  const waiter = new JobWaiter(jobs, {
    databaseUrl: config.databaseUrl,
    applicationName: 'subgraph-image',
    logger,
  });
  const services: Services = {
    config,
    logger,
    verifier,
    revocations,
    images,
    bus,
    signer: new UrlSigner(config.urlSigningKey, config.publicUrl, config.signedUrlTtlSec, overrides.now),
    uploads: new UploadService(
      images,
      jobs,
      waiter,
      bus,
      new UploadAdmission(db, config.uploads),
      config,
      new UploadBuffers(config.maxUploadBytes, {
        maxIdle: config.uploads.inFlight,
        idleMs: UPLOAD_BUFFER_IDLE_MS,
      }),
    ),
  };
  // Rows of jobs whose waiter died with its process, long after no worker may store them.
  const sweeper = setInterval(() => {
    jobs.sweep(JOB_SWEEP_GRACE_MS).catch((error: unknown) => logger.warn({ err: error }, 'job sweep failed'));
  }, JOB_SWEEP_GRACE_MS);
  sweeper.unref();

  observedGauge(metrics, 'image_upload_jobs_waiting', 'Uploads waiting for a worker', () => waiter.waiting);

  let draining = false;
  const app = createBaseApp({
    logger,
    metrics,
    // Not the broker: only uploads need it, and they say so at once (SERVICE_UNAVAILABLE) while it
    // is away. Were it here, a broker outage would take every pod out of its Service, and through
    // the gateway's readiness every read and sign-in with it. The worker's /readyz has the broker.
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

  // Account deletions arrive as events, on the bus the upload jobs use. The queue is durable, so
  // what was published while this service was down is handled when it is back; a transport that is
  // not there yet at start is tried again until it is.
  const userDeleted = new UserDeletedHandler(db, images, logger, () => bus.relay.wake());
  let consumer: Consumer | undefined;
  let closing = false;
  const consuming = (async () => {
    while (!closing) {
      try {
        consumer = await subscribe(bus.transport, [userDeletedSubscription(userDeleted, logger)]);
        return;
      } catch (error) {
        logger.warn({ err: error }, 'cannot consume user.deleted yet; trying again');
        await sleep(1_000);
      }
    }
  })();

  return {
    app,
    httpServer,
    metricsServer,
    logger,
    services,
    userDeleted,
    drain: () => {
      draining = true;
    },
    async close() {
      draining = true;
      revocations.stop();
      await revocationListener.close();
      await revocationDb.destroy();
      clearInterval(sweeper);
      await closeServer(metricsServer);
      await apollo.stop();
      closing = true;
      await consuming;
      await consumer?.stop();
      await waiter.close();
      await bus.close();
      if (!overrides.db) await db.destroy();
    },
  };
}
