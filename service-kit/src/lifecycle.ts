import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger';

export function listen(server: Server, port: number, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export interface ShutdownOptions {
  server: Server;
  logger: Logger;
  /** How long in-flight requests get to finish before their connections are cut. */
  drainMs: number;
  /** Runs after HTTP has closed: release pools and other resources here. */
  onClosed: () => Promise<void>;
  /** Called as soon as shutdown begins (readiness turns false). */
  onDraining?: () => void;
}

/**
 * Stops taking connections, lets in-flight requests finish (up to `drainMs`), then closes
 * resources. HTTP closes first so no request is cut off from a pool that is already gone.
 */
export async function shutdownGracefully(options: ShutdownOptions): Promise<void> {
  const { server, logger, drainMs } = options;
  options.onDraining?.();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections with no request in flight would otherwise hold close() open.
  server.closeIdleConnections();
  const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), drainMs);
  });
  const outcome = await Promise.race([closed.then(() => 'drained' as const), timedOut]);
  clearInterval(idleSweep);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.warn({ drainMs }, 'drain time over, closing remaining connections');
    server.closeAllConnections();
  }
  await options.onClosed();
}

/**
 * Traps SIGTERM and SIGINT once for the process. A second signal while draining is ignored:
 * Kubernetes sends SIGKILL after the grace period anyway.
 */
function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
  let started = false;
  const handler = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** The shape every service's `createServer` returns; tests start it on port 0, main.ts via `serve`. */
export interface Service {
  httpServer: Server;
  /** `/metrics` alone, for a port of its own (`serve` listens on it; tests may). Closed by `close`. */
  metricsServer: Server;
  logger: Logger;
  /** Turns `/readyz` false at the start of a shutdown. */
  drain(): void;
  /** Releases Apollo, pools and the database; call after the HTTP server has closed. */
  close(): Promise<void>;
}

/** Where a service serves `/metrics`: never its service port. */
export interface MetricsListener {
  port: number;
  host: string;
}

/**
 * main.ts of every service: listens, logs where, and traps SIGTERM/SIGINT once to drain HTTP
 * (up to `drainMs`) before closing the rest.
 */
export async function serve(
  service: Service,
  options: {
    name: string;
    port: number;
    /** Where to listen; every interface when absent (the gateway, the public face). */
    host?: string;
    metrics: MetricsListener;
    drainMs: number;
    details?: Record<string, unknown>;
    /** The path the "listening" line points at: `/graphql`, or what a service without one serves. */
    endpoint?: string;
  },
): Promise<number> {
  const { logger } = service;
  const port = await listen(service.httpServer, options.port, options.host);
  const metricsPort = await listen(service.metricsServer, options.metrics.port, options.metrics.host);
  logger.info(
    { port, host: options.host, metrics: `${options.metrics.host}:${metricsPort}`, ...options.details },
    `${options.name} listening on http://${options.host ?? 'localhost'}:${port}${options.endpoint ?? '/graphql'}`,
  );
  onShutdownSignal(logger, () =>
    shutdownGracefully({
      server: service.httpServer,
      logger,
      drainMs: options.drainMs,
      onDraining: () => service.drain(),
      onClosed: () => service.close(),
    }),
  );
  return port;
}

/**
 * A service's whole main.ts: read the configuration from the environment (the only place that
 * does), create the server, `serve` it. A failure (a bad configuration lists every problem) ends
 * the process.
 */
export function runService<
  C extends { port: number; host?: string; metrics: MetricsListener; shutdownDrainMs: number },
  S extends Service,
>(options: {
  name: string;
  loadConfig: (env: NodeJS.ProcessEnv) => C;
  createServer: (config: C) => Promise<S>;
  /** What the "listening" line says besides the port. */
  details?: (config: C, server: S) => Record<string, unknown>;
  /** The path that line points at (default `/graphql`). */
  endpoint?: string;
}): void {
  runMain(async () => {
    const config = options.loadConfig(process.env);
    const server = await options.createServer(config);
    await serve(server, {
      name: options.name,
      port: config.port,
      host: config.host,
      metrics: config.metrics,
      drainMs: config.shutdownDrainMs,
      details: options.details?.(config, server),
      endpoint: options.endpoint,
    });
  });
}

/** Runs a start-up; a failure ends the process with the error's message. */
function runMain(start: () => Promise<unknown>): void {
  start().catch((error: unknown) => {
    // The logger may not exist yet (bad configuration), so report plainly.
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
