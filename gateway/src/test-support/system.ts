/**
 * The whole system in one test process: the auth subgraph, the image subgraph (its signed URLs
 * point at the gateway, its JWKS at the auth service) and the gateway, each on a free port over
 * real HTTP against jest's test database.
 */

import { type Logger, listen } from '@imagehub/service-kit';
import { type StartedAuthService, startAuthService } from '@imagehub/subgraph-auth/test-support';
import { createServer as createImageServer, type ImageServer } from '@imagehub/subgraph-image';
import { type RunningImageService, startImageService } from '@imagehub/subgraph-image/test-support';
import { freePort, type GraphQLRequestOptions, type GraphQLResult, postGraphQL } from '@imagehub/test-kit';
import { createServer, type GatewayServer } from '../app';
import { type Config, loadConfig } from '../config';
import { startRecordingProxy } from './recording-proxy';

export interface RunningSystem {
  gatewayUrl: string;
  /** The gateway's `/metrics` (a port of its own). */
  gatewayMetricsUrl: string;
  gateway: GatewayServer;
  gatewayConfig: Config;
  auth: StartedAuthService;
  image: RunningImageService;
  imagePort: number;
  /** With `recordAuthTraffic`: what the gateway sent to the auth subgraph. */
  authProxy?: Awaited<ReturnType<typeof startRecordingProxy>>;
  /** Stops the image subgraph (the port stays known so it can come back on it). */
  stopImage(): Promise<void>;
  /** Starts the image subgraph again, same port and configuration. */
  restartImage(): Promise<void>;
  close(): Promise<void>;
}

export interface StartSystemOptions {
  gatewayEnv?: Record<string, string>;
  imageEnv?: Record<string, string>;
  authLogger?: Logger;
  /** The image subgraph's and its worker's logger. */
  imageLogger?: Logger;
  /** Environment for the auth subgraph, e.g. `{ ACCESS_TOKEN_TTL: '1' }`. */
  authEnv?: Record<string, string>;
  gatewayLogger?: Logger;
  /** Puts a recording proxy between the gateway and the auth subgraph. */
  recordAuthTraffic?: boolean;
  /** Another (migrated) database than jest's shared one, for both subgraphs. */
  databaseUrl?: string;
}

export async function startSystem(options: StartSystemOptions = {}): Promise<RunningSystem> {
  const auth = await startAuthService({
    logger: options.authLogger,
    env: options.authEnv,
    databaseUrl: options.databaseUrl,
  });
  // The gateway's port is needed before it starts (the image service's PUBLIC_URL). freePort's come
  // from outside the range listen(0) and outgoing connections draw from, so nothing takes it meanwhile.
  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const image = await startImageService({
    // No keys handed over: the image service loads them from the auth service's JWKS, as in production.
    publicKeys: [],
    env: {
      PUBLIC_URL: gatewayUrl,
      AUTH_JWKS_URL: auth.jwksUrl,
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      ...options.imageEnv,
    },
    overrides: options.imageLogger ? { logger: options.imageLogger } : undefined,
  });
  const imagePort = Number(new URL(image.url).port);
  const authProxy = options.recordAuthTraffic ? await startRecordingProxy(auth.url) : undefined;
  const gatewayConfig = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    AUTH_SUBGRAPH_URL: authProxy ? `${authProxy.url}/graphql` : auth.graphqlUrl,
    IMAGE_SUBGRAPH_URL: `${image.url}/graphql`,
    ...options.gatewayEnv,
  });
  const gateway = await createServer(gatewayConfig, { logger: options.gatewayLogger });
  await listen(gateway.httpServer, gatewayPort, '127.0.0.1');
  const gatewayMetricsPort = await listen(gateway.metricsServer, 0, '127.0.0.1');

  let restarted: ImageServer | undefined;
  let imageRunning = true;
  const closeHttp = (server: ImageServer['httpServer']) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const stopImage = async () => {
    if (!imageRunning) return;
    imageRunning = false;
    if (restarted) {
      await closeHttp(restarted.httpServer);
      await restarted.close();
      restarted = undefined;
    } else {
      await image.close();
    }
  };

  return {
    gatewayUrl,
    gatewayMetricsUrl: `http://127.0.0.1:${gatewayMetricsPort}/metrics`,
    gateway,
    gatewayConfig,
    auth,
    image,
    imagePort,
    authProxy,
    stopImage,
    async restartImage() {
      if (imageRunning) return;
      restarted = await createImageServer(image.config);
      await listen(restarted.httpServer, imagePort, '127.0.0.1');
      imageRunning = true;
    },
    async close() {
      await new Promise<void>((resolve) => {
        gateway.httpServer.close(() => resolve());
        gateway.httpServer.closeAllConnections();
      });
      await gateway.close();
      await authProxy?.close();
      await stopImage();
      await auth.close();
    },
  };
}

/** POSTs one JSON GraphQL operation to the gateway. */
export function gql<T = Record<string, unknown>>(
  gatewayUrl: string,
  query: string,
  options: GraphQLRequestOptions = {},
): Promise<GraphQLResult<T>> {
  return postGraphQL<T>(`${gatewayUrl}/graphql`, query, options);
}
