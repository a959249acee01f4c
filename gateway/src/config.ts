import path from 'node:path';
import {
  csv,
  DEFAULT_MAX_TOKEN_LIFETIME_SEC,
  ideEnabled,
  logLevel,
  nodeEnv,
  optionalString,
  parseEnv,
  port,
  REVOKED_SESSIONS_PATH,
  type RevocationConfig,
  revocationConfig,
  revocationEnv,
  trustedProxies,
} from '@imagehub/service-kit';
import { z } from 'zod';
import { REPO_ROOT } from './supergraph/paths';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const schema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  GATEWAY_PORT: port(4000),
  /** `/metrics` (Node version, subgraph names, traffic) is served on this port alone, not the public one. */
  GATEWAY_METRICS_PORT: port(9400),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  AUTH_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4001/graphql'),
  IMAGE_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4002/graphql'),
  /** Where the auth service publishes its public keys; defaults to the auth subgraph's origin. */
  AUTH_JWKS_URL: optionalString,
  /**
   * Where the auth service lists revoked sessions (internal: on the auth subgraph's port, which only
   * the gateway and the image subgraph reach); defaults to the auth subgraph's origin.
   */
  AUTH_REVOKED_SESSIONS_URL: optionalString,
  ...revocationEnv,
  JWT_ISSUER: z.string().min(1).default('imagehub-auth'),
  JWT_AUDIENCE: z.string().min(1).default('imagehub'),
  /** Access tokens claiming a longer life (exp - iat) are refused; the same value as the auth service's. */
  ACCESS_TOKEN_MAX_TTL: positiveInt(DEFAULT_MAX_TOKEN_LIFETIME_SEC),
  /** The composed supergraph to serve; defaults to the committed gateway/supergraph.graphql. */
  SUPERGRAPH_PATH: optionalString,
  /** The built web app served at `/`; defaults to web/dist in this repository (`npm run build -w @imagehub/web`). */
  WEB_DIR: optionalString,
  /** Same default as the image subgraph, so an oversized upload is refused before it is forwarded. */
  MAX_UPLOAD_BYTES: positiveInt(10 * 1024 * 1024),
  /**
   * The GraphQL IDE at GET /graphql, and the introspection it needs. Unset: on outside production,
   * off in production. `true` in production exposes the schema and an IDE page to anyone who can
   * reach the gateway; the API's own checks (tokens, limits) stay as they are.
   */
  GRAPHQL_IDE: z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional(),
  /** Browser origins allowed to call the API cross-origin; empty means same-origin only. */
  CORS_ORIGINS: csv,
  /**
   * The reverse proxies in front of the gateway (an ingress controller, a proxy on the same host)
   * whose X-Forwarded-For entries it believes. Default none: every client is its socket address,
   * whatever X-Forwarded-For it sends. Not `TRUST_PROXY`: npm start hands every service the same
   * environment, and the auth subgraph's TRUST_PROXY names the gateway itself.
   */
  GATEWAY_TRUST_PROXY: trustedProxies('GATEWAY_TRUST_PROXY'),
  /** Size cap for JSON request bodies (a query plus variables; files travel as multipart). */
  MAX_JSON_BODY_BYTES: positiveInt(100 * 1024),
  MAX_QUERY_DEPTH: positiveInt(10),
  MAX_ALIASES: positiveInt(15),
  MAX_TOKENS: positiveInt(1000),
  MAX_DIRECTIVES: positiveInt(20),
  MAX_COST: positiveInt(5000),
  /** Per subgraph: enough keep-alive sockets for the gateway's concurrency without unbounded growth. */
  SUBGRAPH_CONNECTIONS: positiveInt(64),
  SUBGRAPH_TIMEOUT_MS: positiveInt(30_000),
  /** Uploads stream for as long as the client sends; this bounds a stalled one. */
  UPLOAD_TIMEOUT_MS: positiveInt(120_000),
  /** Uploads streaming at once, everyone's together: each holds a connection to the image subgraph. */
  UPLOAD_SLOTS: positiveInt(32),
  /** One user's uploads at once (the image subgraph allows as many: UPLOADS_IN_FLIGHT_PER_USER). */
  UPLOAD_SLOTS_PER_USER: positiveInt(2),
  /** One client address's uploads at once (the address as GATEWAY_TRUST_PROXY lets it be known). */
  UPLOAD_SLOTS_PER_IP: positiveInt(8),
  /** Slowest acceptable upload on average, after UPLOAD_RATE_GRACE_MS; slower ones are stopped (408). */
  UPLOAD_MIN_BYTES_PER_SEC: positiveInt(4096),
  UPLOAD_RATE_GRACE_MS: positiveInt(10_000),
  READY_CHECK_TIMEOUT_MS: positiveInt(1_000),
  SHUTDOWN_DRAIN_MS: positiveInt(10_000),
});

/** Every environment variable this service reads (its README documents each: test/docs.test.ts). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  logLevel: string;
  port: number;
  /** Where `/metrics` is served: never the public port. */
  metrics: { port: number; host: string };
  /** GRAPHQL_IDE resolved: the IDE page (http/ide.ts) and introspection, together. */
  graphqlIde: boolean;
  subgraphs: { auth: string; image: string };
  /** `maxTokenLifetimeSec`: tokens claiming a longer life (exp - iat) are refused. */
  jwt: { issuer: string; audience: string; maxTokenLifetimeSec: number };
  jwksUrl: string;
  /** Polled for the revoked sessions (the gateway has no database). */
  revokedSessionsUrl: string;
  revocation: RevocationConfig;
  /** Undefined: the committed gateway/supergraph.graphql. */
  supergraphPath?: string;
  /** The built web app (index.html, assets/) served at `/`. */
  webDir: string;
  maxUploadBytes: number;
  corsOrigins: string[];
  /** Express `trust proxy` addresses: whose X-Forwarded-For tells the client's address. */
  trustedProxies: string[];
  maxJsonBodyBytes: number;
  limits: {
    maxQueryDepth: number;
    maxAliases: number;
    maxTokens: number;
    maxDirectives: number;
    maxCost: number;
  };
  subgraphConnections: number;
  subgraphTimeoutMs: number;
  uploadTimeoutMs: number;
  /** The upload slot pool (per user, per client address, in all) and the slowest acceptable upload. */
  uploadSlots: { total: number; perUser: number; perIp: number };
  uploadMinBytesPerSec: number;
  uploadRateGraceMs: number;
  readyCheckTimeoutMs: number;
  shutdownDrainMs: number;
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const e = parseEnv(schema, env);
  return {
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.GATEWAY_PORT,
    metrics: { port: e.GATEWAY_METRICS_PORT, host: e.METRICS_HOST },
    graphqlIde:
      e.GRAPHQL_IDE === undefined ? ideEnabled(e.NODE_ENV) : ['true', '1', 'yes'].includes(e.GRAPHQL_IDE),
    subgraphs: { auth: e.AUTH_SUBGRAPH_URL, image: e.IMAGE_SUBGRAPH_URL },
    jwt: { issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE, maxTokenLifetimeSec: e.ACCESS_TOKEN_MAX_TTL },
    jwksUrl: e.AUTH_JWKS_URL ?? new URL('/.well-known/jwks.json', e.AUTH_SUBGRAPH_URL).toString(),
    revokedSessionsUrl:
      e.AUTH_REVOKED_SESSIONS_URL ?? new URL(REVOKED_SESSIONS_PATH, e.AUTH_SUBGRAPH_URL).toString(),
    revocation: revocationConfig(e),
    supergraphPath: e.SUPERGRAPH_PATH,
    webDir: e.WEB_DIR ?? path.join(REPO_ROOT, 'web/dist'),
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    corsOrigins: e.CORS_ORIGINS,
    trustedProxies: e.GATEWAY_TRUST_PROXY,
    maxJsonBodyBytes: e.MAX_JSON_BODY_BYTES,
    limits: {
      maxQueryDepth: e.MAX_QUERY_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxTokens: e.MAX_TOKENS,
      maxDirectives: e.MAX_DIRECTIVES,
      maxCost: e.MAX_COST,
    },
    subgraphConnections: e.SUBGRAPH_CONNECTIONS,
    subgraphTimeoutMs: e.SUBGRAPH_TIMEOUT_MS,
    uploadTimeoutMs: e.UPLOAD_TIMEOUT_MS,
    uploadSlots: { total: e.UPLOAD_SLOTS, perUser: e.UPLOAD_SLOTS_PER_USER, perIp: e.UPLOAD_SLOTS_PER_IP },
    uploadMinBytesPerSec: e.UPLOAD_MIN_BYTES_PER_SEC,
    uploadRateGraceMs: e.UPLOAD_RATE_GRACE_MS,
    readyCheckTimeoutMs: e.READY_CHECK_TIMEOUT_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
  };
}
