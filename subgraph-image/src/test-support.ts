/**
 * For tests in any workspace (e.g. the gateway's): an image subgraph on a free port against jest's
 * test database, trusting tokens that the test mints itself.
 *
 *   const tokens = createTestTokens();
 *   const image = await startImageService({ publicKeys: tokens.jwks });
 *   await fetch(`${image.url}/graphql`, { headers: { authorization: `Bearer ${tokens.mint(userId)}` }, ... });
 *   await image.close();
 *
 * Multipart uploads need `Apollo-Require-Preflight: true` (CSRF protection); see `uploadImage`.
 * An image worker comes with it (in this process, same settings, a job queue of its own, so that
 * services of other test files on the same database never take its jobs), unless `worker: false`.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createDb, type Knex } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { type Jwk, listen } from '@imagehub/service-kit';
import { freePort, type GraphQLResult, postGraphQL, readGraphQLResult, uploadForm } from '@imagehub/test-kit';
import jwt from 'jsonwebtoken';
import { createServer, type ImageServer, type ServerOverrides } from './app';
import { type Config, loadConfig, loadWorkerConfig } from './config';
import { createWorker, type ImageWorker, type WorkerOverrides } from './worker/app';

export interface TestTokens {
  /** Public keys to configure the service with (AUTH_PUBLIC_JWKS). */
  jwks: Jwk[];
  /** An ES256 access token for `userId`, valid for 15 minutes unless claims override it. */
  mint(userId: string, claims?: Record<string, unknown>, options?: jwt.SignOptions): string;
}

export const TEST_ISSUER = 'imagehub-auth';
export const TEST_AUDIENCE = 'imagehub';

export function createTestTokens(): TestTokens {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `test-${randomUUID()}`;
  const jwk: Jwk = { ...(publicKey.export({ format: 'jwk' }) as Jwk), kid, alg: 'ES256', use: 'sig' };
  return {
    jwks: [jwk],
    mint: (userId, claims = {}, options = {}) =>
      jwt.sign({ sub: userId, ...claims }, privateKey, {
        algorithm: 'ES256',
        keyid: kid,
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        expiresIn: '15m',
        ...options,
      }),
  };
}

export interface StartImageServiceOptions {
  /** Keys whose tokens the service accepts (e.g. `createTestTokens().jwks`). */
  publicKeys: Jwk[];
  /** Extra environment, as strings, e.g. `{ MAX_UPLOAD_BYTES: '50000', PUBLIC_URL: gatewayUrl }`. */
  env?: Record<string, string>;
  overrides?: ServerOverrides;
  /** false: no worker (uploads then wait for one until their deadline); or the worker's overrides. */
  worker?: false | WorkerOverrides;
}

export interface RunningImageService {
  /** `http://127.0.0.1:<port>` (GraphQL at `/graphql`, bytes at `/images/...`). */
  url: string;
  config: Config;
  server: ImageServer;
  /** The worker processing this service's upload jobs (none with `worker: false`). */
  worker?: ImageWorker;
  /** The environment both were configured from (to start more workers with). */
  env: Record<string, string>;
  /** Where `/metrics` is served (a port of its own). */
  metricsUrl: string;
  /**
   * Makes an account in auth.users (with `id`, or a fresh one) and returns its id: uploads are only
   * stored for users that exist.
   */
  createUser(id?: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts the service on a free port against `testDatabaseUrl()` (or `env.DATABASE_URL`). */
export async function startImageService(options: StartImageServiceOptions): Promise<RunningImageService> {
  // The port is picked first so that signed URLs point at this very service (unless PUBLIC_URL is given).
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PUBLIC_URL: url,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: testDatabaseUrl(),
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    // Unused while publicKeys holds the token's kid; an unroutable port makes a stray fetch fail fast.
    AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    AUTH_PUBLIC_JWKS: JSON.stringify({ keys: options.publicKeys }),
    URL_SIGNING_KEY: randomBytes(32).toString('base64url'),
    DB_POOL_MAX: '4',
    // Tests upload in bursts from one user; the upload limits have tests of their own that set them.
    UPLOADS_PER_MINUTE: '100000',
    UPLOADS_IN_FLIGHT_PER_USER: '16',
    UPLOADS_IN_FLIGHT: '64',
    IMAGE_JOB_QUEUE: `test-image-processing-${randomBytes(4).toString('hex')}`,
    ...options.env,
  };
  const config = loadConfig(env);
  const worker =
    options.worker === false
      ? undefined
      : await createWorker(loadWorkerConfig(env), { logger: options.overrides?.logger, ...options.worker });
  const server = await createServer(config, options.overrides);
  await listen(server.httpServer, port, '127.0.0.1');
  const metricsPort = await listen(server.metricsServer, 0, '127.0.0.1');
  let users: ReturnType<typeof createDb> | undefined;
  return {
    url,
    config,
    server,
    worker,
    env,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    async createUser(id = randomUUID()) {
      users ??= createDb({ url: config.databaseUrl, applicationName: 'image-test-users', poolMax: 1 });
      await users('auth.users').insert({
        id,
        email: `${id}@example.test`,
        name: 'Test User',
        password_hash: 'x',
      });
      return id;
    },
    async close() {
      await users?.destroy();
      await new Promise<void>((resolve) => {
        server.httpServer.close(() => resolve());
        server.httpServer.closeAllConnections();
      });
      await server.close();
      await worker?.close();
    },
  };
}

export type { GraphQLResult };

/** POSTs a JSON GraphQL request; `token` becomes the bearer token. */
export function graphql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResult<T>> {
  return postGraphQL<T>(`${url}/graphql`, query, { variables, token });
}

export const UPLOAD_MUTATION = `mutation Upload($file: Upload!) {
  uploadImage(file: $file) { id filename contentType byteSize width height sha256 url thumbnailUrl createdAt owner { id } }
}`;

/** What an upload answers with (UPLOAD_MUTATION's fields; `owner.email` where a gateway query asks for it). */
export interface UploadedImage {
  id: string;
  filename: string;
  contentType: string;
  byteSize: number;
  width: number;
  height: number;
  sha256: string;
  url: string;
  thumbnailUrl: string;
  createdAt: string;
  owner: { id: string; email?: string };
}

/** Uploads one file through a real multipart request with the CSRF preflight header. */
export async function uploadImage<T = Record<string, unknown>>(
  url: string,
  token: string | undefined,
  bytes: Uint8Array,
  filename: string,
  options: {
    declaredType?: string;
    headers?: Record<string, string>;
    query?: string;
    signal?: AbortSignal;
  } = {},
): Promise<GraphQLResult<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'apollo-require-preflight': 'true',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
    },
    body: uploadForm(options.query ?? UPLOAD_MUTATION, bytes, filename, options.declaredType),
    signal: options.signal,
  });
  return readGraphQLResult<T>(response);
}

/**
 * What would make the stored images inconsistent: an image pointing at a missing blob, a blob whose
 * ref_count differs from the images using it, an orphaned blob (no image uses it), bytes that differ
 * from byte_size. [] when all is well.
 */
export async function storageProblems(db: Knex): Promise<string[]> {
  const dangling: { id: string }[] = await db('image.images as i')
    .leftJoin('image.blobs as b', 'b.sha256', 'i.sha256')
    .leftJoin('image.blobs as t', 't.sha256', 'i.thumbnail_sha256')
    .whereNull('b.sha256')
    .orWhereNull('t.sha256')
    .select('i.id');
  const refs = await db.raw(`
    select b.sha256, b.ref_count, b.byte_size, octet_length(b.data) as stored,
           (select count(*) from image.images i where i.sha256 = b.sha256)
         + (select count(*) from image.images i where i.thumbnail_sha256 = b.sha256) as used
    from image.blobs b`);
  const problems = dangling.map((row) => `image ${row.id} points at a missing blob`);
  for (const row of refs.rows as {
    sha256: string;
    ref_count: number;
    byte_size: number;
    stored: number;
    used: string;
  }[]) {
    if (Number(row.used) !== row.ref_count)
      problems.push(`blob ${row.sha256}: ref_count ${row.ref_count} but used by ${row.used}`);
    if (Number(row.used) === 0) problems.push(`blob ${row.sha256} is orphaned`);
    if (Number(row.stored) !== row.byte_size)
      problems.push(`blob ${row.sha256}: byte_size ${row.byte_size} but ${row.stored} bytes stored`);
  }
  return problems;
}

/** The page sizes the resolvers apply, for the gateway's cost limit to count the same. */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';
