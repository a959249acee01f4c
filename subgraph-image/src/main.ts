import { runMain, serve } from '@imagehub/service-kit';
import { createServer } from './app';
import { loadConfig } from './config';

runMain(async () => {
  const config = loadConfig(process.env);
  const server = await createServer(config);
  await serve(server, {
    name: 'image subgraph',
    port: config.port,
    drainMs: config.shutdownDrainMs,
    details: { nodeEnv: config.nodeEnv, publicUrl: config.publicUrl },
  });
});
