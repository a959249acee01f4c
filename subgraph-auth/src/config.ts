import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  csv,
  DEFAULT_MAX_TOKEN_LIFETIME_SEC,
  jsonBodyLimit,
  logLevel,
  nodeEnv,
  optionalString,
  parseEnv,
  port,
  type RevocationConfig,
  revocationConfig,
  revocationEnv,
  trustedProxies,
} from '@imagehub/service-kit';
import { z } from 'zod';
import { loadSigningKeys } from './auth/signing-keys';
import type { ThrottleOptions } from './auth/throttle';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const schema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  DATA_DIR: z.string().min(1).default('.data'),
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required (npm start passes the embedded one)'),
  AUTH_PORT: port(4001),
  /**
   * Where to listen. Only the gateway (and the image subgraph, for the JWKS) should reach this
   * service: loopback by default; containers set 0.0.0.0 and rely on their network policy.
   */
  AUTH_HOST: z.string().min(1).default('127.0.0.1'),
  /** `/metrics` is served on this port alone, never on the service port. */
  AUTH_METRICS_PORT: port(9401),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  DB_POOL_MAX: positiveInt(10),
  SHUTDOWN_DRAIN_MS: positiveInt(10_000),
  MAX_JSON_BODY_BYTES: jsonBodyLimit(100 * 1024),

  JWT_ISSUER: z.string().min(1).default('imagehub-auth'),
  JWT_AUDIENCE: z.string().min(1).default('imagehub'),
  /** One or more PEM private keys (EC P-256) concatenated; the first signs, all are published. */
  JWT_PRIVATE_KEYS: optionalString,
  JWT_PRIVATE_KEY_FILE: optionalString,
  /** Comma-separated paths, for rotation: the first signs, all are published. */
  JWT_PRIVATE_KEY_FILES: csv,
  ACCESS_TOKEN_TTL: positiveInt(900),
  /** The longest access-token lifetime any verifier accepts (exp - iat); ACCESS_TOKEN_TTL must fit in it. */
  ACCESS_TOKEN_MAX_TTL: positiveInt(DEFAULT_MAX_TOKEN_LIFETIME_SEC),
  /** Idle bound: a refresh token unused for this long expires (each refresh issues a new one). */
  REFRESH_TOKEN_TTL: positiveInt(30 * 24 * 3600),
  /** Absolute bound: a session ends this long after sign-in, however often it is refreshed. */
  SESSION_MAX_AGE: positiveInt(30 * 24 * 3600),
  /** Live sessions per user; a sign-in beyond it revokes the user's least recently used sessions. */
  MAX_SESSIONS_PER_USER: positiveInt(50),
  ...revocationEnv,

  /**
   * RabbitMQ (amqp://user:password@host:5672) for the events this service publishes (`user.deleted`);
   * unset, they travel through Postgres (the `bus` schema). A secret: it carries the password.
   */
  AMQP_URL: optionalString,
  /** Prefix of the broker's exchanges and queues: the same for every service of one deployment. */
  AMQP_NAMESPACE: z.string().min(1).default('imagehub'),
  /**
   * How often a healthy outbox relay looks for events anyway: a deletion wakes it at once, so this
   * only finds events of a replica that died between its commit and its publish. After a failed
   * publish it tries again every second (or this, if shorter).
   */
  OUTBOX_POLL_INTERVAL_MS: positiveInt(15_000),

  BCRYPT_COST: z.coerce
    .number()
    .int()
    .min(10, 'BCRYPT_COST must be at least 10')
    .max(15, 'BCRYPT_COST above 15 makes every login take seconds')
    .default(10),
  BCRYPT_CONCURRENCY: positiveInt(availableParallelism()),
  BCRYPT_MAX_QUEUE: z.coerce.number().int().min(0).default(64),
  BCRYPT_QUEUE_TIMEOUT_MS: positiveInt(1000),

  LOGIN_FAILURES_PER_EMAIL_AND_IP: positiveInt(5),
  LOGIN_LOCKOUT_BASE_SEC: positiveInt(60),
  LOGIN_LOCKOUT_MAX_SEC: positiveInt(3600),
  LOGIN_FAILURES_PER_EMAIL: positiveInt(100),
  LOGIN_FAILURES_PER_IP: positiveInt(50),
  LOGIN_FAILURE_WINDOW_SEC: positiveInt(15 * 60),
  LOGINS_PER_IP: positiveInt(60),
  LOGINS_PER_ACCOUNT: positiveInt(10),
  LOGIN_SUCCESS_WINDOW_SEC: positiveInt(10 * 60),
  REGISTRATIONS_PER_IP: positiveInt(20),
  REGISTRATION_WINDOW_SEC: positiveInt(60 * 60),
  REFRESH_FAILURES_PER_IP: positiveInt(50),
  REFRESH_FAILURE_WINDOW_SEC: positiveInt(15 * 60),

  /**
   * The reverse proxies (the gateway) whose X-Forwarded-For entries are believed: comma-separated
   * addresses, CIDR ranges, or `loopback`/`linklocal`/`uniquelocal`. A request from any other
   * address is judged by its socket address, whatever X-Forwarded-For it carries. Empty or `false`:
   * no proxy is trusted. Hop counts are refused: they trust whoever connects.
   */
  TRUST_PROXY: trustedProxies('TRUST_PROXY'),
});

/** Every environment variable this service reads (its README documents each: test/docs.test.ts). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  logLevel: string;
  dataDir: string;
  databaseUrl: string;
  port: number;
  host: string;
  metrics: { port: number; host: string };
  dbPoolMax: number;
  shutdownDrainMs: number;
  jwt: {
    issuer: string;
    audience: string;
    /** Parsed once; the first one signs, all are published in the JWKS. */
    privateKeys: KeyObject[];
    accessTokenTtlSec: number;
    /** Verifiers refuse tokens claiming a longer life. */
    maxTokenLifetimeSec: number;
  };
  sessions: { refreshTokenTtlSec: number; maxAgeSec: number; maxPerUser: number };
  revocation: RevocationConfig;
  /** Where events go: RabbitMQ when `amqpUrl` is set, else Postgres. */
  messaging: { amqpUrl: string | undefined; namespace: string; outboxPollIntervalMs: number };
  bcrypt: { cost: number; concurrency: number; maxQueue: number; queueTimeoutMs: number };
  /** The throttle's limits; its key namespace is chosen by whoever starts the service. */
  throttle: Omit<ThrottleOptions, 'namespace'>;
  maxJsonBodyBytes: number;
  /** Express `trust proxy` list: addresses and ranges of the proxies in front (the gateway). */
  trustedProxies: string[];
}

/** The only place the auth subgraph reads its environment. Throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const e = parseEnv(schema, env);
  if (e.ACCESS_TOKEN_TTL > e.ACCESS_TOKEN_MAX_TTL) {
    throw new ConfigError(
      `Invalid configuration:\n  ACCESS_TOKEN_TTL: ${e.ACCESS_TOKEN_TTL} is longer than ACCESS_TOKEN_MAX_TTL (${e.ACCESS_TOKEN_MAX_TTL}); every verifier would refuse the tokens`,
    );
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const keyFiles = [...(e.JWT_PRIVATE_KEY_FILE ? [e.JWT_PRIVATE_KEY_FILE] : []), ...e.JWT_PRIVATE_KEY_FILES];
  let privateKeys: KeyObject[];
  try {
    privateKeys = loadSigningKeys({
      pems: e.JWT_PRIVATE_KEYS,
      files: keyFiles,
      // Production must be given its keys: a generated one would differ per replica and vanish on restart.
      generateInto: e.NODE_ENV === 'production' ? undefined : path.join(dataDir, 'keys'),
    });
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  JWT keys: ${(error as Error).message}`);
  }
  return {
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    port: e.AUTH_PORT,
    host: e.AUTH_HOST,
    metrics: { port: e.AUTH_METRICS_PORT, host: e.METRICS_HOST },
    dbPoolMax: e.DB_POOL_MAX,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    jwt: {
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      privateKeys,
      accessTokenTtlSec: e.ACCESS_TOKEN_TTL,
      maxTokenLifetimeSec: e.ACCESS_TOKEN_MAX_TTL,
    },
    sessions: {
      refreshTokenTtlSec: e.REFRESH_TOKEN_TTL,
      maxAgeSec: e.SESSION_MAX_AGE,
      maxPerUser: e.MAX_SESSIONS_PER_USER,
    },
    revocation: revocationConfig(e),
    messaging: {
      amqpUrl: e.AMQP_URL,
      namespace: e.AMQP_NAMESPACE,
      outboxPollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS,
    },
    bcrypt: {
      cost: e.BCRYPT_COST,
      concurrency: e.BCRYPT_CONCURRENCY,
      maxQueue: e.BCRYPT_MAX_QUEUE,
      queueTimeoutMs: e.BCRYPT_QUEUE_TIMEOUT_MS,
    },
    throttle: {
      loginFailuresPerEmailAndIp: e.LOGIN_FAILURES_PER_EMAIL_AND_IP,
      loginLockoutBaseSec: e.LOGIN_LOCKOUT_BASE_SEC,
      loginLockoutMaxSec: Math.max(e.LOGIN_LOCKOUT_MAX_SEC, e.LOGIN_LOCKOUT_BASE_SEC),
      loginFailuresPerEmail: e.LOGIN_FAILURES_PER_EMAIL,
      loginFailuresPerIp: e.LOGIN_FAILURES_PER_IP,
      loginFailureWindowSec: e.LOGIN_FAILURE_WINDOW_SEC,
      loginsPerIp: e.LOGINS_PER_IP,
      loginsPerAccount: e.LOGINS_PER_ACCOUNT,
      loginSuccessWindowSec: e.LOGIN_SUCCESS_WINDOW_SEC,
      registrationsPerIp: e.REGISTRATIONS_PER_IP,
      registrationWindowSec: e.REGISTRATION_WINDOW_SEC,
      refreshFailuresPerIp: e.REFRESH_FAILURES_PER_IP,
      refreshFailureWindowSec: e.REFRESH_FAILURE_WINDOW_SEC,
    },
    maxJsonBodyBytes: e.MAX_JSON_BODY_BYTES,
    trustedProxies: e.TRUST_PROXY,
  };
}
