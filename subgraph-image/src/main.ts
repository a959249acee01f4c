import { runService } from '@imagehub/service-kit';
import { createServer } from './app';
import { loadConfig } from './config';

runService({
  name: 'image subgraph',
  loadConfig,
  createServer: (config) => createServer(config),
  details: (config) => ({ nodeEnv: config.nodeEnv, publicUrl: config.publicUrl }),
});
