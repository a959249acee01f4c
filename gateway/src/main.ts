import { createLogger, listen, onShutdownSignal, shutdownGracefully } from '@imagehub/service-kit';
import { createServer } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const server = await createServer(config, { logger });
  const port = await listen(server.httpServer, config.GATEWAY_PORT);
  logger.info(
    { port, subgraphs: config.subgraphs, env: config.NODE_ENV },
    `gateway listening on http://localhost:${port}/graphql`,
  );
  onShutdownSignal(logger, () =>
    shutdownGracefully({
      server: server.httpServer,
      logger,
      drainMs: config.SHUTDOWN_DRAIN_MS,
      onDraining: server.drain,
      onClosed: server.close,
    }),
  );
}

main().catch((error: unknown) => {
  // The logger may not exist yet (bad configuration), so report plainly.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
