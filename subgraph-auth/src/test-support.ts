/**
 * Starts a real auth subgraph for tests in any workspace (the gateway's, the image subgraph's):
 *
 *   const auth = await startAuthService();            // port 0, jest's test database
 *   const { accessToken } = await auth.registerUser(); // a fresh account, signed in
 *   ... fetch(auth.graphqlUrl, ...) / auth.jwksUrl ...
 *   await auth.close();
 *
 * `env` overrides go through the real config parser (e.g. `{ BCRYPT_CONCURRENCY: '1' }`).
 * Defaults for tests: NODE_ENV=test, LOG_LEVEL=silent, a throw-away DATA_DIR (its generated key
 * is removed on close), throttle limits and the bcrypt wait bound high enough that parallel test
 * files never trip them, and throttle counters private to this server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { type Jwk, type Logger, listen } from '@imagehub/service-kit';
import { type GraphQLResult, postGraphQL } from '@imagehub/test-kit';
import { createServer } from './app';
import { type Config, loadConfig } from './config';

export interface StartAuthServiceOptions {
  /** Environment on top of the test defaults, parsed by the real `loadConfig`. */
  env?: Record<string, string>;
  /** Another database than jest's shared one (e.g. a scratch database). */
  databaseUrl?: string;
  /** Capture logs instead of dropping them. */
  logger?: Logger;
  /** Share throttle counters with another server started with the same value (replicas); default: private. */
  throttleNamespace?: string;
}

export type { GraphQLResult };

export interface RegisteredUser {
  id: string;
  name: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export interface StartedAuthService {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  graphqlUrl: string;
  /** Where `/metrics` is served (a port of its own). */
  metricsUrl: string;
  jwksUrl: string;
  config: Config;
  /** The service's own knex instance (e.g. to count its queries with `db.on('query', ...)`). */
  db: Knex;
  jwks: { keys: Jwk[] };
  /** POSTs one GraphQL operation as JSON. */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResult<T>>;
  /** Registers a new account with unique data and returns it with its tokens. */
  registerUser(
    fields?: Partial<Pick<RegisteredUser, 'name' | 'email' | 'password'>>,
  ): Promise<RegisteredUser>;
  close(): Promise<void>;
}

/**
 * Limits (throttles, the session bound) that no test run reaches unless a test lowers them on purpose. The bcrypt wait bound is
 * raised too: on a loaded CI machine a burst of registrations would otherwise be shed as busy.
 */
const RELAXED_LIMITS = {
  BCRYPT_QUEUE_TIMEOUT_MS: '30000',
  BCRYPT_MAX_QUEUE: '1000',
  LOGIN_FAILURES_PER_EMAIL_AND_IP: '100000',
  LOGIN_FAILURES_PER_EMAIL: '100000',
  LOGIN_FAILURES_PER_IP: '100000',
  LOGINS_PER_IP: '100000',
  LOGINS_PER_ACCOUNT: '100000',
  REGISTRATIONS_PER_IP: '100000',
  REFRESH_FAILURES_PER_IP: '100000',
  // Tests sign one user in many times while using an earlier session's token.
  MAX_SESSIONS_PER_USER: '100000',
};

export async function startAuthService(options: StartAuthServiceOptions = {}): Promise<StartedAuthService> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imagehub-auth-test-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    DATABASE_URL: options.databaseUrl ?? testDatabaseUrl(),
    DB_POOL_MAX: '5',
    ...RELAXED_LIMITS,
    ...options.env,
  });
  const server = await createServer(config, {
    logger: options.logger,
    throttleNamespace: options.throttleNamespace ?? `test-${randomBytes(6).toString('hex')}`,
  });
  const port = await listen(server.httpServer, 0, '127.0.0.1');
  const metricsPort = await listen(server.metricsServer, 0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const graphqlUrl = `${url}/graphql`;

  const graphql: StartedAuthService['graphql'] = (query, variables, headers) =>
    postGraphQL(graphqlUrl, query, { variables, headers });

  return {
    url,
    graphqlUrl,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    jwksUrl: `${url}/.well-known/jwks.json`,
    config,
    db: server.db,
    jwks: server.jwks,
    graphql,
    async registerUser(fields = {}) {
      const unique = randomBytes(6).toString('hex');
      const name = fields.name ?? `Test User ${unique}`;
      const email = fields.email ?? `user-${unique}@example.test`;
      const password = fields.password ?? `correct horse ${unique}`;
      const result = await graphql<{
        register: { accessToken: string; refreshToken: string; user: { id: string } };
      }>(
        `mutation Register($name: String!, $email: String!, $password: String!) {
          register(name: $name, email: $email, password: $password) { accessToken refreshToken user { id } }
        }`,
        { name, email, password },
      );
      if (!result.data?.register) throw new Error(`register failed: ${JSON.stringify(result.errors)}`);
      const { accessToken, refreshToken, user } = result.data.register;
      return { id: user.id, name, email: email.trim().toLowerCase(), password, accessToken, refreshToken };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.httpServer.close(() => resolve());
        server.httpServer.closeAllConnections();
      });
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
