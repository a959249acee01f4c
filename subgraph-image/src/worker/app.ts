import http from 'node:http';
import { isDatabaseReachable, type Knex, serviceDb } from '@imagehub/db';
import type { Consumer } from '@imagehub/messaging';
import {
  closeServer,
  createBaseApp,
  createLogger,
  createMetrics,
  createMetricsServer,
  jsonErrorHandler,
  type Logger,
  observedGauge,
  type Service,
} from '@imagehub/service-kit';
import { type Bus, createBus, type Subscription, subscribe } from '../bus';
import type { WorkerConfig } from '../config';
import { PostgresBlobStore } from '../store/blob-store';
import { ImageStore } from '../store/image-store';
import { Limiter } from '../upload/limiter';
import { UploadProcessor, type UploadProcessorOptions } from './process-upload';

export interface WorkerOverrides {
  logger?: Logger;
  /** A pool owned by the caller (not closed by close()). */
  db?: Knex;
  /** The decode (tests: one that crashes or stalls). */
  process?: UploadProcessorOptions['process'];
}

export interface ImageWorker extends Service {
  bus: Bus;
  processor: UploadProcessor;
}

/**
 * The image worker: takes upload jobs from the bus and does the expensive part (decode, strip,
 * re-encode, thumbnail) under the per-image budget, away from the process that answers reads. Its
 * HTTP port serves only `/healthz` and `/readyz` (the database and the broker connection), its
 * metrics port `/metrics`.
 */
export async function createWorker(
  config: WorkerConfig,
  overrides: WorkerOverrides = {},
): Promise<ImageWorker> {
  const logger = overrides.logger ?? createLogger('image-worker', config.logLevel);
  const metrics = createMetrics('image-worker');
  const db = overrides.db ?? serviceDb(config, logger, 'image-worker');
  const bus = createBus({
    bus: config.bus,
    databaseUrl: config.databaseUrl,
    db,
    applicationName: 'image-worker',
    logger,
    // Every prefetched job, and the dead-letter queue's one.
    maxInFlight: config.prefetch + 1,
  });
  const decoders = new Limiter(config.concurrency);
  const processor = new UploadProcessor({
    db,
    images: new ImageStore(db, new PostgresBlobStore(db)),
    decoders,
    limits: { maxPixels: config.maxImagePixels, ...config.imageBudget },
    quotaBytes: config.quotaBytes,
    logger,
    onCommitted: () => bus.relay.wake(),
    process: overrides.process,
  });
  observedGauge(
    metrics,
    'image_processing_running',
    'Images being decoded and encoded now',
    () => decoders.running,
  );
  observedGauge(
    metrics,
    'image_processing_waiting',
    'Jobs held by this worker, waiting for a decoder',
    () => decoders.waiting,
  );

  // What this process consumes; another consumer is another entry.
  const subscriptions: Subscription[] = [
    {
      options: {
        queue: config.bus.jobQueue,
        prefetch: config.prefetch,
        maxAttempts: config.maxAttempts,
        onDeadLetter: processor.handleDeadLetter,
      },
      handler: processor.handle,
    },
  ];
  let consumer: Consumer | undefined;
  try {
    consumer = await subscribe(bus.transport, subscriptions);
  } catch (error) {
    await bus.close();
    if (!overrides.db) await db.destroy();
    throw error;
  }

  let draining = false;
  const app = createBaseApp({
    logger,
    metrics,
    ready: async () => (await isDatabaseReachable(db)) && (await bus.transport.isReady()),
    isDraining: () => draining,
  });
  app.use(jsonErrorHandler(logger));
  const httpServer = http.createServer(app);
  const metricsServer = createMetricsServer(metrics);
  return {
    httpServer,
    metricsServer,
    logger,
    bus,
    processor,
    drain: () => {
      draining = true;
    },
    async close() {
      draining = true;
      // Jobs in flight finish (and are acknowledged) first; the rest stay queued for other workers.
      await consumer?.stop();
      await bus.close();
      await closeServer(metricsServer);
      if (!overrides.db) await db.destroy();
    },
  };
}
