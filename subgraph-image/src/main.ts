import { listen, onShutdownSignal, shutdownGracefully } from '@imagehub/service-kit';
import { createServer } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const server = await createServer(config);
  const logger = server.services.logger;
  const port = await listen(server.httpServer, config.port);
  logger.info({ port, publicUrl: config.publicUrl }, 'subgraph-image listening');
  onShutdownSignal(logger, () =>
    shutdownGracefully({
      server: server.httpServer,
      logger,
      drainMs: config.shutdownDrainMs,
      onDraining: () => server.drain(),
      onClosed: () => server.close(),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
