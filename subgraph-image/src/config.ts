import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConfigError,
  DEFAULT_MAX_TOKEN_LIFETIME_SEC,
  type Jwk,
  jsonBodyLimit,
  logLevel,
  nodeEnv,
  optionalString,
  parseEnv,
  port,
  type RevocationConfig,
  revocationConfig,
  revocationEnv,
} from '@imagehub/service-kit';
import { z } from 'zod';

const MIB = 1024 * 1024;
/** HMAC-SHA256 keys shorter than the hash output weaken it; refuse them. */
export const MIN_SIGNING_KEY_BYTES = 32;
const SIGNING_KEY_FILE = 'image-url-signing.key';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** What the image subgraph and its workers both read: the database, the bus, and the image budget. */
const shared = {
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required'),
  DB_POOL_MAX: positiveInt(10),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** RabbitMQ (amqp://user:pass@host:5672); unset: jobs and events travel through Postgres (the `bus` schema). */
  AMQP_URL: optionalString,
  /** Prefix of the broker's exchanges and queues: the same for every service of one deployment. */
  AMQP_NAMESPACE: z.string().min(1).default('imagehub'),
  /** The work queue of upload jobs; the subgraph and its workers must agree. */
  IMAGE_JOB_QUEUE: z.string().min(1).default('image-processing'),
  MAX_IMAGE_PIXELS: positiveInt(40_000_000),
  /** Decodes running at once in one worker; each can hold a decoded image, so this bounds its memory. */
  IMAGE_PROCESSING_CONCURRENCY: positiveInt(2),
  /**
   * Per-format pixel limits below MAX_IMAGE_PIXELS: WebP and AVIF decode whole frames and their
   * encoders cost far more per pixel than JPEG's or PNG's (measured; see README "Upload budget").
   */
  MAX_WEBP_PIXELS: positiveInt(10_000_000),
  MAX_AVIF_PIXELS: positiveInt(8_000_000),
  /** Frames of an animated GIF/WebP: each costs work however small it is. */
  MAX_IMAGE_FRAMES: positiveInt(1000),
  /** Wall-clock limit per libvips pipeline (sharp's `timeout`), in whole seconds. */
  IMAGE_PROCESSING_TIMEOUT_SEC: positiveInt(30),
  /** Bytes of stored images (originals and thumbnails) per user; 0 means unlimited. */
  UPLOAD_QUOTA_BYTES: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(1024 * MIB),
  SHUTDOWN_DRAIN_MS: positiveInt(10_000),
};

const schema = z.object({
  ...shared,
  DATA_DIR: z.string().default('.data'),
  IMAGE_PORT: port(4002),
  /** Where to listen: only the gateway should reach this service. Containers set 0.0.0.0. */
  IMAGE_HOST: z.string().min(1).default('127.0.0.1'),
  /** `/metrics` is served on this port alone, never on the service port. */
  IMAGE_METRICS_PORT: port(9402),
  AUTH_JWKS_URL: z.string().url().default('http://127.0.0.1:4001/.well-known/jwks.json'),
  /** Public keys as JSON (`{"keys":[...]}` or a bare array), for deployments and tests without a reachable JWKS. */
  AUTH_PUBLIC_JWKS: optionalString,
  JWT_ISSUER: z.string().min(1).default('imagehub-auth'),
  ...revocationEnv,
  JWT_AUDIENCE: z.string().min(1).default('imagehub'),
  /** Access tokens claiming a longer life (exp - iat) are refused; the same value as the auth service's. */
  ACCESS_TOKEN_MAX_TTL: positiveInt(DEFAULT_MAX_TOKEN_LIFETIME_SEC),
  /** Origin that clients reach `/images/*` on: the gateway, which proxies it here unchanged. */
  PUBLIC_URL: z.string().url().default('http://localhost:4000'),
  URL_SIGNING_KEY: optionalString,
  SIGNED_URL_TTL: positiveInt(3600),
  MAX_UPLOAD_BYTES: positiveInt(10 * MIB),
  /**
   * How long an upload waits for a worker to finish it; then the job is cancelled, nothing is stored
   * and the client gets SERVICE_UNAVAILABLE. Below the gateway's UPLOAD_TIMEOUT_MS (120 s).
   */
  UPLOAD_DEADLINE_SEC: positiveInt(90),
  /** One user's uploads in progress at once (received, queued or processing); more: TOO_MANY_REQUESTS. */
  UPLOADS_IN_FLIGHT_PER_USER: positiveInt(2),
  /** Everyone's uploads in progress at once: each holds its file (up to MAX_UPLOAD_BYTES) in memory. */
  UPLOADS_IN_FLIGHT: positiveInt(8),
  /** Upload attempts per user per minute, refused ones included; shared by replicas through Postgres. */
  UPLOADS_PER_MINUTE: positiveInt(30),
  MAX_JSON_BODY_BYTES: jsonBodyLimit(MIB),
});

/** The worker (worker/main.ts): no GraphQL, only a health port and its metrics. */
const workerSchema = z.object({
  ...shared,
  /** `/healthz` and `/readyz` (the broker connection); containers set WORKER_HOST=0.0.0.0 for probes. */
  WORKER_PORT: port(4003),
  WORKER_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_PORT: port(9403),
  /**
   * Jobs one worker holds at once (the transport's prefetch). Above IMAGE_PROCESSING_CONCURRENCY, so
   * the held jobs queue fairly per user for the decoders: one user's burst does not hold up another's.
   */
  WORKER_PREFETCH: positiveInt(8),
  /** Deliveries of one job (a worker crashing on it counts) before it is dead-lettered and fails. */
  WORKER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(19).default(3),
  /**
   * The worker's CPU priority (nice, 0..19): processing is background work, so where it shares the
   * CPU with the processes answering reads (`npm start`, one machine) they can come first. Only ever
   * lowers it (worker/priority.ts). 0 by default until a quiet-machine bench shows what it buys.
   */
  WORKER_NICE: z.coerce.number().int().min(0).max(19).default(0),
});

/** Every environment variable the image subgraph and its worker read (the README documents each: test/docs.test.ts). */
export const CONFIG_VARIABLES = [
  ...new Set([...Object.keys(schema.shape), ...Object.keys(workerSchema.shape)]),
];

/** How images are processed: the same in the subgraph (header checks) and the worker (decoding). */
export interface ImageBudget {
  maxWebpPixels: number;
  maxAvifPixels: number;
  maxFrames: number;
  timeoutSec: number;
}

export interface BusConfig {
  /** undefined: the Postgres transport. */
  amqpUrl: string | undefined;
  /** RabbitMQ: the prefix of the exchanges and queues. */
  namespace: string;
  jobQueue: string;
}

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  logLevel: string;
  dataDir: string;
  databaseUrl: string;
  dbPoolMax: number;
  port: number;
  host: string;
  metrics: { port: number; host: string };
  auth: { jwksUrl: string; publicKeys: Jwk[]; issuer: string; audience: string; maxTokenLifetimeSec: number };
  /** The revoked sessions (image.revoked_sessions), reloaded on a timer. */
  revocation: RevocationConfig;
  publicUrl: string;
  urlSigningKey: Buffer;
  signedUrlTtlSec: number;
  maxUploadBytes: number;
  maxImagePixels: number;
  imageBudget: ImageBudget;
  bus: BusConfig;
  uploadDeadlineMs: number;
  uploads: {
    inFlightPerUser: number;
    inFlight: number;
    perMinute: number;
    /** undefined: unlimited. */
    quotaBytes: number | undefined;
  };
  shutdownDrainMs: number;
  maxJsonBodyBytes: number;
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const raw = parseEnv(schema, env);
  return {
    nodeEnv: raw.NODE_ENV,
    logLevel: raw.LOG_LEVEL,
    dataDir: raw.DATA_DIR,
    databaseUrl: raw.DATABASE_URL,
    dbPoolMax: raw.DB_POOL_MAX,
    port: raw.IMAGE_PORT,
    host: raw.IMAGE_HOST,
    metrics: { port: raw.IMAGE_METRICS_PORT, host: raw.METRICS_HOST },
    auth: {
      jwksUrl: raw.AUTH_JWKS_URL,
      publicKeys: parsePublicKeys(raw.AUTH_PUBLIC_JWKS),
      issuer: raw.JWT_ISSUER,
      audience: raw.JWT_AUDIENCE,
      maxTokenLifetimeSec: raw.ACCESS_TOKEN_MAX_TTL,
    },
    revocation: revocationConfig(raw),
    publicUrl: raw.PUBLIC_URL.replace(/\/+$/, ''),
    urlSigningKey: resolveSigningKey(raw.URL_SIGNING_KEY, raw.NODE_ENV, raw.DATA_DIR),
    signedUrlTtlSec: raw.SIGNED_URL_TTL,
    maxUploadBytes: raw.MAX_UPLOAD_BYTES,
    maxImagePixels: raw.MAX_IMAGE_PIXELS,
    imageBudget: imageBudget(raw),
    bus: { amqpUrl: raw.AMQP_URL, namespace: raw.AMQP_NAMESPACE, jobQueue: raw.IMAGE_JOB_QUEUE },
    uploadDeadlineMs: raw.UPLOAD_DEADLINE_SEC * 1000,
    uploads: {
      inFlightPerUser: raw.UPLOADS_IN_FLIGHT_PER_USER,
      inFlight: raw.UPLOADS_IN_FLIGHT,
      perMinute: raw.UPLOADS_PER_MINUTE,
      quotaBytes: raw.UPLOAD_QUOTA_BYTES === 0 ? undefined : raw.UPLOAD_QUOTA_BYTES,
    },
    shutdownDrainMs: raw.SHUTDOWN_DRAIN_MS,
    maxJsonBodyBytes: raw.MAX_JSON_BODY_BYTES,
  };
}

export interface WorkerConfig {
  nodeEnv: 'development' | 'test' | 'production';
  logLevel: string;
  databaseUrl: string;
  dbPoolMax: number;
  port: number;
  host: string;
  metrics: { port: number; host: string };
  bus: BusConfig;
  maxImagePixels: number;
  imageBudget: ImageBudget;
  /** Decodes at once. */
  concurrency: number;
  prefetch: number;
  maxAttempts: number;
  /** The CPU priority (nice) the worker process lowers itself to at start. */
  nice: number;
  /** undefined: unlimited. */
  quotaBytes: number | undefined;
  shutdownDrainMs: number;
}

export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const raw = parseEnv(workerSchema, env);
  return {
    nodeEnv: raw.NODE_ENV,
    logLevel: raw.LOG_LEVEL,
    databaseUrl: raw.DATABASE_URL,
    dbPoolMax: raw.DB_POOL_MAX,
    port: raw.WORKER_PORT,
    host: raw.WORKER_HOST,
    metrics: { port: raw.WORKER_METRICS_PORT, host: raw.METRICS_HOST },
    bus: { amqpUrl: raw.AMQP_URL, namespace: raw.AMQP_NAMESPACE, jobQueue: raw.IMAGE_JOB_QUEUE },
    maxImagePixels: raw.MAX_IMAGE_PIXELS,
    imageBudget: imageBudget(raw),
    concurrency: raw.IMAGE_PROCESSING_CONCURRENCY,
    prefetch: Math.max(raw.WORKER_PREFETCH, raw.IMAGE_PROCESSING_CONCURRENCY),
    maxAttempts: raw.WORKER_MAX_ATTEMPTS,
    nice: raw.WORKER_NICE,
    quotaBytes: raw.UPLOAD_QUOTA_BYTES === 0 ? undefined : raw.UPLOAD_QUOTA_BYTES,
    shutdownDrainMs: raw.SHUTDOWN_DRAIN_MS,
  };
}

function imageBudget(raw: {
  MAX_WEBP_PIXELS: number;
  MAX_AVIF_PIXELS: number;
  MAX_IMAGE_FRAMES: number;
  IMAGE_PROCESSING_TIMEOUT_SEC: number;
}): ImageBudget {
  return {
    maxWebpPixels: raw.MAX_WEBP_PIXELS,
    maxAvifPixels: raw.MAX_AVIF_PIXELS,
    maxFrames: raw.MAX_IMAGE_FRAMES,
    timeoutSec: raw.IMAGE_PROCESSING_TIMEOUT_SEC,
  };
}

function parsePublicKeys(json: string | undefined): Jwk[] {
  if (!json) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ConfigError('Invalid configuration:\n  AUTH_PUBLIC_JWKS: not valid JSON');
  }
  const keys = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'object' || k === null)) {
    throw new ConfigError(
      'Invalid configuration:\n  AUTH_PUBLIC_JWKS: expected {"keys":[...]} or an array of JWKs',
    );
  }
  // Only public members are kept, so a private JWK pasted by mistake is not held in memory.
  return (keys as Jwk[]).map(({ d: _private, ...publicPart }) => publicPart);
}

/**
 * Production must be given the key (every replica signs and verifies with the same one). In
 * development the key is generated once and kept in DATA_DIR, so URLs survive restarts.
 */
function resolveSigningKey(configured: string | undefined, env: Config['nodeEnv'], dataDir: string): Buffer {
  if (configured !== undefined) {
    const key = Buffer.from(configured, 'utf8');
    if (key.length < MIN_SIGNING_KEY_BYTES) {
      throw new ConfigError(
        `Invalid configuration:\n  URL_SIGNING_KEY: must be at least ${MIN_SIGNING_KEY_BYTES} bytes`,
      );
    }
    return key;
  }
  if (env === 'production') {
    throw new ConfigError(
      'Invalid configuration:\n  URL_SIGNING_KEY: required in production (at least 32 random bytes, e.g. `openssl rand -base64 48`)',
    );
  }
  const file = path.resolve(dataDir, SIGNING_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process started at the same moment and wrote it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  chmodSync(file, 0o600);
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
  if (key.length < MIN_SIGNING_KEY_BYTES) throw new ConfigError(`${file}: signing key is too short`);
  return key;
}
