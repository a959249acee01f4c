import { listen, onShutdownSignal, shutdownGracefully } from '@imagehub/service-kit';
import { createServer } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const server = await createServer(config);
  const port = await listen(server.httpServer, config.port);
  server.logger.info(
    { port, nodeEnv: config.nodeEnv, signingKeys: server.jwks.keys.map((k) => k.kid) },
    `auth subgraph listening on http://localhost:${port}/graphql`,
  );
  onShutdownSignal(server.logger, () =>
    shutdownGracefully({
      server: server.httpServer,
      logger: server.logger,
      drainMs: config.shutdownDrainMs,
      onDraining: server.setDraining,
      onClosed: server.close,
    }),
  );
}

main().catch((error: unknown) => {
  // Config errors list every problem; print them plainly (the logger may not exist yet).
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
