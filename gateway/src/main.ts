import { runService } from '@imagehub/service-kit';
import { createServer } from './app';
import { loadConfig } from './config';

runService({
  name: 'gateway',
  loadConfig,
  createServer: (config) => createServer(config),
  details: (config) => ({ subgraphs: config.subgraphs, nodeEnv: config.nodeEnv }),
});
