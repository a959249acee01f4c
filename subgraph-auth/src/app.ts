import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import {
  type ChannelListener,
  isDatabaseReachable,
  type Knex,
  listenForRevocations,
  revocationPollDb,
  serviceDb,
} from '@imagehub/db';
import { createTransport, OutboxRelay } from '@imagehub/messaging';
import {
  apolloSettings,
  closeServer,
  createBaseApp,
  createLogger,
  createMetrics,
  createMetricsServer,
  DEFAULT_CLOCK_TOLERANCE_SEC,
  ideEnabled,
  type Jwk,
  jsonErrorHandler,
  type Logger,
  REVOKED_SESSIONS_PATH,
  RevocationList,
  type Service,
  subgraphSchema,
  trustProxySetting,
} from '@imagehub/service-kit';
import express, { type Express, type Request } from 'express';
import { AccessTokenIssuer } from './auth/access-tokens';
import { AuthService } from './auth/auth-service';
import { PasswordHasher } from './auth/password-hasher';
import { Throttle } from './auth/throttle';
import { throttleKeyForAddress } from './client-address';
import type { Config } from './config';
import { type Context, createLoaders } from './context';
import { resolvers } from './resolvers';
import { MAX_REVOKED_SESSIONS_WAIT_MS, RevocationWaiters, revokedSessionsHandler } from './revoked-sessions';
import { typeDefs } from './schema';
import { SessionStore } from './store/sessions';
import { UserStore } from './store/users';

/** The auth service's transactional outbox (migration 202612010201). */
export const AUTH_OUTBOX = 'auth.outbox';

export interface ServerOverrides {
  /** Replaces the JSON logger on stdout (tests capture logs through it). */
  logger?: Logger;
  /** Prefix of the throttle counters; separate test servers sharing a database keep separate counts. */
  throttleNamespace?: string;
}

export interface AuthServer extends Service {
  app: Express;
  db: Knex;
  jwks: { keys: Jwk[] };
}

export async function createServer(config: Config, overrides: ServerOverrides = {}): Promise<AuthServer> {
  const logger = overrides.logger ?? createLogger('subgraph-auth', config.logLevel);
  const metrics = createMetrics('subgraph-auth');
  const db = serviceDb(config, logger, 'subgraph-auth');
  const revocationDb = revocationPollDb(config, 'subgraph-auth');
  // Events leave through the outbox: a deletion commits whether or not the broker answers, and the
  // relay publishes it once it does. So this service's readiness does not depend on the transport.
  const transport = createTransport({
    amqpUrl: config.messaging.amqpUrl,
    databaseUrl: config.databaseUrl,
    applicationName: 'subgraph-auth-events',
    namespace: config.messaging.namespace,
    logger,
  });
  const relay = new OutboxRelay({
    db,
    table: AUTH_OUTBOX,
    transport,
    logger,
    pollIntervalMs: config.messaging.outboxPollIntervalMs,
  });
  let revocationListener: ChannelListener | undefined;
  try {
    const users = new UserStore(db);
    const tokens = new AccessTokenIssuer({
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ttlSec: config.jwt.accessTokenTtlSec,
      maxLifetimeSec: config.jwt.maxTokenLifetimeSec,
      privateKeys: config.jwt.privateKeys,
    });
    const sessionOptions = {
      ...config.sessions,
      revocationTtlSec: config.jwt.maxTokenLifetimeSec + DEFAULT_CLOCK_TOLERANCE_SEC,
    };
    const sessions = new SessionStore(db, sessionOptions);
    const revocationReader = new SessionStore(revocationDb, sessionOptions);
    const revocations = new RevocationList({
      load: () => revocationReader.listRevoked(),
      ...config.revocation,
      logger,
    });
    await revocations.start();
    // Told of each revocation (another replica's too) as it commits; the poll is the backstop. The
    // gateway's long polls of /revoked-sessions are answered on the same notification.
    const revocationWaiters = new RevocationWaiters();
    let notified = false;
    revocationListener = listenForRevocations(
      config,
      'subgraph-auth',
      {
        notified: () => {
          revocationWaiters.notify();
          return revocations.notified();
        },
        setListening: (up) => {
          notified = up;
          // Held requests were promised a change as it happens: without LISTEN, not any more.
          if (!up) revocationWaiters.notify();
          revocations.setListening(up);
        },
      },
      logger,
    );
    const auth = new AuthService({
      db,
      users,
      sessions,
      revocations,
      hasher: await PasswordHasher.create(config.bcrypt),
      tokens,
      throttle: new Throttle(db, { ...config.throttle, namespace: overrides.throttleNamespace ?? 'auth' }),
      outbox: { table: AUTH_OUTBOX, wake: () => relay.wake() },
    });

    let draining = false;
    const app = createBaseApp({
      logger,
      metrics,
      ready: () => isDatabaseReachable(db),
      isDraining: () => draining,
      allowIdeAssets: ideEnabled(config.nodeEnv),
    });
    // X-Forwarded-For counts only when the request comes from a listed proxy (the gateway), and
    // only the entries those proxies appended; anyone else is their socket address.
    app.set('trust proxy', trustProxySetting(config.trustedProxies));

    app.get('/.well-known/jwks.json', (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json(tokens.jwks);
    });
    // For the gateway, which has no database: the ids of revoked sessions whose access tokens may
    // still be alive, read from the database (not this service's copy, which may be a poll behind).
    // Internal like the rest of this port (the gateway routes only /graphql here); it holds ids of
    // ended sessions, no credentials. A long poll (revokedSessionsHandler): held until a revocation
    // is notified or the gateway's wait runs out, so the gateway asks once per wait, not once a second.
    app.get(
      REVOKED_SESSIONS_PATH,
      revokedSessionsHandler({
        listRevoked: () => sessions.listRevoked(),
        waiters: revocationWaiters,
        maxWaitMs: () => (notified ? MAX_REVOKED_SESSIONS_WAIT_MS : config.revocation.pollIntervalMs),
        isDraining: () => draining,
      }),
    );

    const apollo = new ApolloServer<Context>({
      ...apolloSettings<Context>({ role: 'subgraph', nodeEnv: config.nodeEnv, logger, metrics }),
      schema: subgraphSchema(typeDefs, resolvers),
    });
    await apollo.start();

    app.use(
      '/graphql',
      express.json({ limit: config.maxJsonBodyBytes }),
      expressMiddleware(apollo, {
        context: async ({ req }): Promise<Context> => {
          let ip: string | undefined;
          return {
            // Only logins, registrations and refreshes use the address (their throttles); working it
            // out through the trusted-proxy list was 2.4% of the CPU of every other request.
            get ip() {
              ip ??= clientIp(req);
              return ip;
            },
            log: requestLogger(req, logger),
            authorization: req.headers.authorization,
            userAgent: req.headers['user-agent'],
            auth,
            loaders: createLoaders(users),
          };
        },
      }),
    );
    app.use(jsonErrorHandler(logger));

    const httpServer = http.createServer(app);
    const metricsServer = createMetricsServer(metrics);
    relay.start();
    return {
      app,
      httpServer,
      metricsServer,
      db,
      jwks: tokens.jwks,
      logger,
      drain: () => {
        draining = true;
        // Held long polls answer now, and the gateway asks again (another replica, or plainly).
        revocationWaiters.notify();
      },
      async close() {
        draining = true;
        revocationWaiters.notify();
        revocations.stop();
        await revocationListener?.close();
        await revocationDb.destroy();
        await closeServer(metricsServer);
        await apollo.stop();
        await relay.stop();
        await transport.close();
        await db.destroy();
      },
    };
  } catch (error) {
    await revocationListener?.close();
    await revocationDb.destroy();
    await transport.close();
    await db.destroy();
    throw error;
  }
}

/** pino-http's per-request child logger (it carries the request id); typed here so builds need not see pino-http's augmentation. */
function requestLogger(req: Request, fallback: Logger): Logger {
  return (req as Request & { log?: Logger }).log ?? fallback;
}

/** The address the throttle counts by: IPv4 as is (mapped or not), IPv6 by its /64. */
function clientIp(req: Request): string {
  return throttleKeyForAddress(req.ip ?? req.socket.remoteAddress ?? 'unknown');
}
