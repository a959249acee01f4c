import { runService } from '@imagehub/service-kit';
import { createServer } from './app';
import { loadConfig } from './config';

runService({
  name: 'auth subgraph',
  loadConfig,
  createServer: (config) => createServer(config),
  details: (config, server) => ({ nodeEnv: config.nodeEnv, signingKeys: server.jwks.keys.map((k) => k.kid) }),
});
