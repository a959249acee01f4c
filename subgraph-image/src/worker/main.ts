import { runService } from '@imagehub/service-kit';
import { loadWorkerConfig } from '../config';
import { createWorker } from './app';

runService({
  name: 'image worker',
  loadConfig: loadWorkerConfig,
  createServer: (config) => createWorker(config),
  details: (config, worker) => ({
    transport: worker.bus.transport.name,
    queue: config.bus.jobQueue,
    prefetch: config.prefetch,
    concurrency: config.concurrency,
  }),
});
