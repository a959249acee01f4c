import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  csv,
  jsonBodyLimit,
  logLevel,
  nodeEnv,
  optionalString,
  parseEnv,
  port,
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
  REFRESH_TOKEN_TTL: positiveInt(30 * 24 * 3600),

  BCRYPT_COST: z.coerce
    .number()
    .int()
    .min(10, 'BCRYPT_COST must be at least 10')
    .max(15, 'BCRYPT_COST above 15 makes every login take seconds')
    .default(10),
  BCRYPT_CONCURRENCY: positiveInt(availableParallelism()),
  BCRYPT_MAX_QUEUE: z.coerce.number().int().min(0).default(64),
  BCRYPT_QUEUE_TIMEOUT_MS: positiveInt(1000),

  LOGIN_FAILURES_PER_EMAIL: positiveInt(10),
  LOGIN_FAILURES_PER_IP: positiveInt(50),
  LOGIN_FAILURE_WINDOW_SEC: positiveInt(15 * 60),
  REGISTRATIONS_PER_IP: positiveInt(20),
  REGISTRATION_WINDOW_SEC: positiveInt(60 * 60),
  REFRESH_FAILURES_PER_IP: positiveInt(50),
  REFRESH_FAILURE_WINDOW_SEC: positiveInt(15 * 60),

  /**
   * How many reverse proxies in front of this service append to X-Forwarded-For (the gateway is
   * one). `false`/0: the client address is the socket's, and X-Forwarded-For is ignored.
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v, ctx) => {
      if (v === 'false' || v === '0' || v === 'no') return 0;
      if (v === 'true' || v === 'yes') return 1;
      const hops = Number(v);
      if (Number.isInteger(hops) && hops > 0 && hops < 10) return hops;
      ctx.addIssue({ code: 'custom', message: 'TRUST_PROXY must be true, false or a hop count 1..9' });
      return z.NEVER;
    }),
});

/** Every environment variable this service reads (its README documents each: test/docs.test.ts). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  logLevel: string;
  dataDir: string;
  databaseUrl: string;
  port: number;
  dbPoolMax: number;
  shutdownDrainMs: number;
  jwt: {
    issuer: string;
    audience: string;
    /** Parsed once; the first one signs, all are published in the JWKS. */
    privateKeys: KeyObject[];
    accessTokenTtlSec: number;
  };
  refreshTokenTtlSec: number;
  bcrypt: { cost: number; concurrency: number; maxQueue: number; queueTimeoutMs: number };
  /** The throttle's limits; its key namespace is chosen by whoever starts the service. */
  throttle: Omit<ThrottleOptions, 'namespace'>;
  trustProxyHops: number;
  maxJsonBodyBytes: number;
}

/** The only place the auth subgraph reads its environment. Throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const e = parseEnv(schema, env);
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
    dbPoolMax: e.DB_POOL_MAX,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    jwt: {
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      privateKeys,
      accessTokenTtlSec: e.ACCESS_TOKEN_TTL,
    },
    refreshTokenTtlSec: e.REFRESH_TOKEN_TTL,
    bcrypt: {
      cost: e.BCRYPT_COST,
      concurrency: e.BCRYPT_CONCURRENCY,
      maxQueue: e.BCRYPT_MAX_QUEUE,
      queueTimeoutMs: e.BCRYPT_QUEUE_TIMEOUT_MS,
    },
    throttle: {
      loginFailuresPerEmail: e.LOGIN_FAILURES_PER_EMAIL,
      loginFailuresPerIp: e.LOGIN_FAILURES_PER_IP,
      loginFailureWindowSec: e.LOGIN_FAILURE_WINDOW_SEC,
      registrationsPerIp: e.REGISTRATIONS_PER_IP,
      registrationWindowSec: e.REGISTRATION_WINDOW_SEC,
      refreshFailuresPerIp: e.REFRESH_FAILURES_PER_IP,
      refreshFailureWindowSec: e.REFRESH_FAILURE_WINDOW_SEC,
    },
    trustProxyHops: e.TRUST_PROXY,
    maxJsonBodyBytes: e.MAX_JSON_BODY_BYTES,
  };
}
