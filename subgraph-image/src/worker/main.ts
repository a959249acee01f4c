import { runService } from '@imagehub/service-kit';
import { loadWorkerConfig } from '../config';
import { createWorker } from './app';
import { lowerCpuPriority } from './priority';

runService({
  name: 'image worker',
  // No GraphQL here: the worker's port serves its health checks alone.
  endpoint: '/healthz',
  loadConfig: loadWorkerConfig,
  // Here rather than in createWorker: it changes the whole process (tests create workers in theirs).
  createServer: (config) => {
    lowerCpuPriority(config.nice);
    return createWorker(config);
  },
  details: (config, worker) => ({
    transport: worker.bus.transport.name,
    queue: config.bus.jobQueue,
    prefetch: config.prefetch,
    concurrency: config.concurrency,
    nice: config.nice,
  }),
});
