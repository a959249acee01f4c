import { runMain, serve } from '@imagehub/service-kit';
import { createServer } from './app';
import { loadConfig } from './config';

runMain(async () => {
  const config = loadConfig(process.env);
  const server = await createServer(config);
  await serve(server, {
    name: 'gateway',
    port: config.port,
    drainMs: config.shutdownDrainMs,
    details: { subgraphs: config.subgraphs, nodeEnv: config.nodeEnv },
  });
});
