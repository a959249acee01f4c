/**
 * The whole system as `npm start` runs it (one process per service, real Postgres), for the fault,
 * hostile-input and soak suites. Every answer and every log line is recorded, so a suite can check
 * headers on all of them and look for secrets in the logs afterwards.
 */
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb, type Knex, migrateLatest } from '@imagehub/db';
import { storageProblems } from '@imagehub/subgraph-image/test-support';
import {
  freePort,
  type GraphQLResult,
  type MultipartOptions,
  multipartUpload,
  postGraphQL,
  readGraphQLResult,
} from '@imagehub/test-kit';
import {
  type ProcessName,
  type ServiceName,
  serviceEnvironment,
  spawnService,
  startPostgresProcess,
  waitUntilAnswers,
  waitUntilReady,
} from '../../scripts/system';

export type { ProcessName, ServiceName };
/** The services with a GraphQL API. */
export const SERVICES: ServiceName[] = ['subgraph-auth', 'subgraph-image', 'gateway'];
/** Every process, in start order: the services and the image worker. */
export const PROCESSES: ProcessName[] = ['subgraph-auth', 'subgraph-image', 'image-worker', 'gateway'];

export interface SystemOptions {
  /**
   * `embedded`: a Postgres of our own that can be stopped and started again (fault suite).
   * `{ url }`: an existing, empty database on a server we do not control (migrated here).
   */
  database: 'embedded' | { url: string };
  nodeEnv?: 'development' | 'test' | 'production';
  logLevel?: string;
  /** Extra environment per process (after the defaults, so it wins). */
  env?: Partial<Record<ProcessName, Record<string, string>>>;
  /** Applies to the gateway and the image subgraph alike. */
  maxUploadBytes?: number;
}

export interface RecordedAnswer {
  service: ProcessName;
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
}

export interface RowCounts {
  users: number;
  sessions: number;
  refreshTokens: number;
  images: number;
  blobs: number;
}

export interface AuthSession {
  userId: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export interface UploadedImage {
  id: string;
  url: string;
  thumbnailUrl: string;
  sha256: string;
}

export interface UploadOptions extends Omit<MultipartOptions, 'boundary' | 'query'> {
  /** Where to send it: the gateway (default) or the image subgraph directly. */
  service?: ServiceName;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export const ports = (s: System) => ({
  'subgraph-auth': s.authPort,
  'subgraph-image': s.imagePort,
  'image-worker': s.workerPort,
  gateway: s.gatewayPort,
});

export class System {
  readonly logs: Record<ProcessName, string[]> = {
    'subgraph-auth': [],
    'subgraph-image': [],
    'image-worker': [],
    gateway: [],
  };
  readonly answers: RecordedAnswer[] = [];
  /** Every password and token the harness has seen, for the secrets-in-logs check. */
  readonly secrets = new Set<string>();
  readonly children = new Map<ProcessName, ChildProcess>();
  /** Knex on the system's database, as the superuser: the tests' view of what was stored. */
  db!: Knex;
  databaseUrl!: string;
  postgres?: ChildProcess;
  pgPort = 0;
  authPort = 0;
  imagePort = 0;
  /** The image worker's health port (`/healthz`, `/readyz`). */
  workerPort = 0;
  gatewayPort = 0;
  /** `/metrics` is served on a port of its own at every service. */
  readonly metricsPorts: Record<ProcessName, number> = {
    'subgraph-auth': 0,
    'subgraph-image': 0,
    'image-worker': 0,
    gateway: 0,
  };
  readonly dataDir: string;
  readonly productionKeys: { jwtPrivateKey: string; urlSigningKey: string };

  private constructor(readonly options: SystemOptions) {
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'imagehub-system-'));
    // As root, the embedded Postgres runs as an unprivileged user that must pass through this folder.
    chmodSync(this.dataDir, 0o711);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.productionKeys = {
      jwtPrivateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      urlSigningKey: randomBytes(48).toString('base64url'),
    };
  }

  static async start(options: SystemOptions): Promise<System> {
    const system = new System(options);
    try {
      [system.authPort, system.imagePort, system.workerPort, system.gatewayPort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
      for (const name of PROCESSES) system.metricsPorts[name] = await freePort();
      if (options.database === 'embedded') {
        system.pgPort = await freePort();
        await system.startPostgres();
      } else {
        system.databaseUrl = options.database.url;
      }
      system.db ??= createDb({ url: system.databaseUrl, applicationName: 'test-harness', poolMax: 3 });
      await migrateLatest(system.db);
      // The image subgraph waits for the auth JWKS by itself (its /readyz stays false until then).
      await Promise.all([
        system.startService('subgraph-auth'),
        system.startService('subgraph-image'),
        system.startService('image-worker'),
      ]);
      await system.startService('gateway');
      return system;
    } catch (error) {
      await system.stop();
      throw error;
    }
  }

  url(service: ProcessName = 'gateway'): string {
    return `http://127.0.0.1:${ports(this)[service]}`;
  }

  /** Where a service serves `/metrics` (not its service port). */
  metricsUrl(service: ProcessName): string {
    return `http://127.0.0.1:${this.metricsPorts[service]}/metrics`;
  }

  /** Starts (or restarts, on the same port and data folder) the embedded Postgres, in its own process. */
  async startPostgres(): Promise<void> {
    const { child, url } = await startPostgresProcess({
      dataDir: path.join(this.dataDir, 'pg'),
      port: this.pgPort,
    });
    this.postgres = child;
    this.databaseUrl = url;
    this.db = createDb({ url, applicationName: 'test-harness', poolMax: 3 });
  }

  /** Stops Postgres cleanly (fast shutdown: open connections are terminated). */
  async stopPostgres(): Promise<void> {
    const child = this.postgres;
    this.postgres = undefined;
    if (!child || child.exitCode !== null) return;
    // Our own pool would only log the severed connections.
    await this.db?.destroy();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  serviceEnv(name: ProcessName): Record<string, string | undefined> {
    const production = this.options.nodeEnv === 'production';
    const maxUpload = String(this.options.maxUploadBytes ?? 1024 * 1024);
    const wiring = serviceEnvironment({
      ports: ports(this),
      databaseUrl: this.databaseUrl,
      dataDir: this.dataDir,
      nodeEnv: this.options.nodeEnv ?? 'test',
      logLevel: this.options.logLevel ?? 'debug',
      metricsPorts: this.metricsPorts,
    });
    const perService: Record<ProcessName, Record<string, string>> = {
      'subgraph-auth': {
        // The suites register and fail logins by the hundred from one address; throttling has its own tests.
        REGISTRATIONS_PER_IP: '100000',
        LOGIN_FAILURES_PER_EMAIL_AND_IP: '100000',
        LOGIN_FAILURES_PER_IP: '100000',
        LOGIN_FAILURES_PER_EMAIL: '100000',
        LOGINS_PER_IP: '100000',
        LOGINS_PER_ACCOUNT: '100000',
        REFRESH_FAILURES_PER_IP: '100000',
        // Load workloads sign the same users in again and again while using their first tokens; the
        // session bound would end those (gateway/src/accounts.test.ts tests the bound).
        MAX_SESSIONS_PER_USER: '100000',
        ...(production ? { JWT_PRIVATE_KEYS: this.productionKeys.jwtPrivateKey } : {}),
      },
      'subgraph-image': {
        MAX_UPLOAD_BYTES: maxUpload,
        // The suites upload in bursts from a few users; the upload limits have cases of their own.
        UPLOADS_PER_MINUTE: '100000',
        UPLOADS_IN_FLIGHT_PER_USER: '16',
        UPLOADS_IN_FLIGHT: '64',
        ...(production ? { URL_SIGNING_KEY: this.productionKeys.urlSigningKey } : {}),
      },
      // Settings the worker shares with the image subgraph (quota, budget) come from the subgraph's.
      'image-worker': { ...this.options.env?.['subgraph-image'] },
      gateway: {
        MAX_UPLOAD_BYTES: maxUpload,
        // Every client of the suites comes from 127.0.0.1; the slot caps have cases of their own.
        UPLOAD_SLOTS_PER_USER: '16',
        UPLOAD_SLOTS_PER_IP: '64',
      },
    };
    // Long enough for the slow clients of the SIGTERM suite to finish.
    return { ...wiring, SHUTDOWN_DRAIN_MS: '8000', ...perService[name], ...this.options.env?.[name] };
  }

  /** Spawns a service on its port and waits for it (the gateway is ready once both subgraphs answer). */
  async startService(name: ProcessName, { waitFor = 'ready' as 'ready' | 'health' } = {}): Promise<void> {
    const child = spawnService(name, this.serviceEnv(name), 'pipe');
    this.children.set(name, child);
    const capture = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) this.logs[name].push(line);
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    const port = ports(this)[name];
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `${name} exited during start-up (${signal ?? code}):\n${this.logs[name].slice(-20).join('\n')}`,
          ),
        ),
      ),
    );
    exited.catch(() => {});
    const started =
      waitFor === 'ready'
        ? waitUntilReady(port, 60_000)
        : waitUntilAnswers(`http://127.0.0.1:${port}/healthz`, 60_000);
    await Promise.race([started, exited]);
  }

  /**
   * Sends a signal and resolves once the process has exited, with how it ended and how long it took.
   */
  async signal(
    name: ProcessName,
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const child = this.children.get(name);
    if (!child) throw new Error(`${name} is not running`);
    this.children.delete(name);
    if (child.exitCode !== null || child.signalCode !== null) {
      return { code: child.exitCode, signal: child.signalCode, ms: 0 };
    }
    const started = Date.now();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>(
      (resolve) =>
        child.once('exit', (code, sig) => resolve({ code, signal: sig, ms: Date.now() - started })),
    );
    child.kill(signal);
    return exited;
  }

  pid(name: ProcessName): number | undefined {
    return this.children.get(name)?.pid;
  }

  /** fetch that records every answer (service, status, headers) for the header checks. */
  async request(service: ProcessName, pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
    // `/metrics` lives on the service's metrics port, everything else on its service port.
    const base =
      pathAndQuery === '/metrics' ? this.metricsUrl(service).replace(/\/metrics$/, '') : this.url(service);
    const response = await fetch(`${base}${pathAndQuery}`, {
      ...init,
      signal: init.signal ?? AbortSignal.timeout(15_000),
    });
    this.answers.push({
      service,
      method: init.method ?? 'GET',
      path: pathAndQuery.split('?')[0] ?? pathAndQuery,
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
    });
    return response;
  }

  /** One JSON GraphQL operation; the gateway unless `service` says otherwise. */
  async gql<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
    options: {
      service?: ServiceName;
      headers?: Record<string, string>;
      body?: string;
      signal?: AbortSignal;
    } = {},
  ): Promise<GraphQLResult<T>> {
    if (token) this.secrets.add(token);
    const service = options.service ?? 'gateway';
    return postGraphQL<T>(`${this.url(service)}/graphql`, query, {
      ...options,
      variables,
      token,
      send: (url, init) => this.request(service, url.slice(this.url(service).length), init),
    });
  }

  /** A GraphQL multipart upload of one file (spec-shaped unless the options say otherwise). */
  async upload(file: Buffer, token: string | undefined, options: UploadOptions = {}): Promise<GraphQLResult> {
    if (token) this.secrets.add(token);
    const { body, contentType } = multipartUpload(file, options);
    const response = await this.request(options.service ?? 'gateway', '/graphql', {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'apollo-require-preflight': 'true',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...options.headers,
      },
      body: new Uint8Array(body),
      signal: options.signal,
    });
    return readGraphQLResult(response);
  }

  async register(overrides: { name?: string; email?: string; password?: string } = {}): Promise<AuthSession> {
    const email = overrides.email ?? `user-${randomBytes(6).toString('hex')}@example.test`;
    const password = overrides.password ?? `pw-${randomBytes(12).toString('base64url')}`;
    this.secrets.add(password);
    const result = await this.gql<{ register: AuthPayload }>(
      'mutation R($name: String!, $email: String!, $password: String!) { register(name: $name, email: $email, password: $password) { accessToken refreshToken user { id } } }',
      { name: overrides.name ?? 'Test User', email, password },
    );
    return this.sessionFrom(result.data?.register, result, email, password);
  }

  async login(email: string, password: string, service: ServiceName = 'gateway'): Promise<AuthSession> {
    this.secrets.add(password);
    const result = await this.gql<{ login: AuthPayload }>(
      'mutation L($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken user { id } } }',
      { email, password },
      undefined,
      { service },
    );
    return this.sessionFrom(result.data?.login, result, email, password);
  }

  /** One refresh; returns the raw result so races can count successes. */
  async refresh(refreshToken: string): Promise<GraphQLResult<{ refreshToken: AuthPayload }>> {
    this.secrets.add(refreshToken);
    const result = await this.gql<{ refreshToken: AuthPayload }>(
      'mutation F($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id } } }',
      { t: refreshToken },
    );
    if (result.data?.refreshToken) {
      this.secrets.add(result.data.refreshToken.accessToken);
      this.secrets.add(result.data.refreshToken.refreshToken);
    }
    return result;
  }

  async uploadOk(file: Buffer, token: string, options: UploadOptions = {}): Promise<UploadedImage> {
    const result = await this.upload(file, token, options);
    const image = (result.data as { uploadImage?: UploadedImage } | undefined)?.uploadImage;
    if (!image) throw new Error(`upload failed: ${result.status} ${result.text.slice(0, 500)}`);
    return image;
  }

  async counts(): Promise<RowCounts> {
    const one = async (table: string) => Number((await this.db(table).count({ n: '*' }))[0]?.n);
    const [users, sessions, refreshTokens, images, blobs] = await Promise.all([
      one('auth.users'),
      one('auth.sessions'),
      one('auth.refresh_tokens'),
      one('image.images'),
      one('image.blobs'),
    ]);
    return { users, sessions, refreshTokens, images, blobs };
  }

  /**
   * What "nothing half-stored" means in rows: every image points at existing blobs for both
   * variants, every blob's ref_count is the number of image rows that use it, and no blob is orphaned.
   */
  storageProblems(): Promise<string[]> {
    return storageProblems(this.db);
  }

  allLogs(): string {
    return PROCESSES.map((name) => this.logs[name].join('\n')).join('\n');
  }

  /** Reads a Prometheus gauge's value from a service's /metrics (undefined when absent). */
  async metric(service: ProcessName, name: string): Promise<number | undefined> {
    const response = await fetch(this.metricsUrl(service), { signal: AbortSignal.timeout(5_000) });
    const text = await response.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(' ').pop()) : undefined;
  }

  async stop(): Promise<void> {
    for (const name of [...PROCESSES].reverse()) {
      const child = this.children.get(name);
      if (!child) continue;
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await this.signal(name, 'SIGTERM').catch(() => {});
      clearTimeout(timer);
    }
    await this.db?.destroy().catch(() => {});
    await this.stopPostgres().catch(() => {});
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private sessionFrom(
    payload: AuthPayload | undefined | null,
    result: GraphQLResult,
    email: string,
    password: string,
  ): AuthSession {
    if (!payload) throw new Error(`auth failed: ${result.status} ${result.text.slice(0, 500)}`);
    this.secrets.add(payload.accessToken);
    this.secrets.add(payload.refreshToken);
    return {
      userId: payload.user.id,
      email,
      password,
      accessToken: payload.accessToken,
      refreshToken: payload.refreshToken,
    };
  }
}

interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  user: { id: string };
}

/**
 * The security headers every answer must carry (helmet's), as one line per answer and missing
 * header: `service METHOD path status: header`.
 */
export function missingSecurityHeaders(answers: RecordedAnswer[]): string[] {
  const missing = answers.flatMap((a) => {
    const problems: string[] = [];
    if (a.headers['x-content-type-options'] !== 'nosniff') problems.push('x-content-type-options');
    if (!a.headers['strict-transport-security']) problems.push('strict-transport-security');
    if (!a.headers['x-frame-options'] && !/frame-ancestors/.test(a.headers['content-security-policy'] ?? ''))
      problems.push('x-frame-options or CSP frame-ancestors');
    if (a.headers['x-powered-by']) problems.push('x-powered-by present');
    return problems.map((p) => `${a.service} ${a.method} ${a.path} ${a.status}: ${p}`);
  });
  return [...new Set(missing)];
}
