import { z } from 'zod';

/**
 * Parses and validates an environment once, reporting every problem together, so an operator
 * fixes a bad deployment in one round instead of one variable per restart.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`,
  );
  throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Empty strings in the environment mean "not set", as they do for most operators. */
export const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const boolFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const nodeEnv = z.enum(['development', 'test', 'production']).default('development');
export type NodeEnv = z.infer<typeof nodeEnv>;

/** Cap on a JSON request body (a query and its variables; files travel as multipart). */
export const jsonBodyLimit = (fallbackBytes: number) =>
  z.coerce.number().int().positive().default(fallbackBytes);

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/** Comma-separated list, trimmed, empties dropped. */
export const csv = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/**
 * The revocation list's settings, the same variables at every verifier (gateway, both subgraphs):
 * spread into a service's schema, then read with `revocationConfig`.
 */
export const revocationEnv = {
  /**
   * How often the list is reloaded while nothing announces revocations (the gateway always; a
   * subgraph while its LISTEN connection is down): revoked access tokens are refused within about
   * this long.
   */
  REVOCATION_POLL_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  /**
   * How often a subgraph reloads the list while it LISTENs for revocations: each one reloads it at
   * once, so this poll only backs up a notification lost on a connection that died silently, and
   * keeps the list younger than the staleness bound (it must cover two of these polls too).
   */
  REVOCATION_LISTEN_POLL_INTERVAL_MS: z.coerce.number().int().positive().default(4000),
  /** A list older than this (its source unreachable) refuses every signed-in request with SERVICE_UNAVAILABLE. */
  REVOCATION_MAX_STALENESS_SEC: z.coerce.number().int().positive().default(10),
};

export interface RevocationConfig {
  pollIntervalMs: number;
  listeningPollIntervalMs: number;
  maxStalenessSec: number;
}

export function revocationConfig(e: {
  REVOCATION_POLL_INTERVAL_MS: number;
  REVOCATION_LISTEN_POLL_INTERVAL_MS: number;
  REVOCATION_MAX_STALENESS_SEC: number;
}): RevocationConfig {
  // With fewer than two polls inside the bound, one slow load would refuse every signed-in request.
  for (const name of ['REVOCATION_POLL_INTERVAL_MS', 'REVOCATION_LISTEN_POLL_INTERVAL_MS'] as const) {
    if (e.REVOCATION_MAX_STALENESS_SEC * 1000 < 2 * e[name]) {
      throw new ConfigError(
        `Invalid configuration:\n  REVOCATION_MAX_STALENESS_SEC: ${e.REVOCATION_MAX_STALENESS_SEC} s must cover at least two polls of ${name} (${e[name]} ms)`,
      );
    }
  }
  return {
    pollIntervalMs: e.REVOCATION_POLL_INTERVAL_MS,
    listeningPollIntervalMs: e.REVOCATION_LISTEN_POLL_INTERVAL_MS,
    maxStalenessSec: e.REVOCATION_MAX_STALENESS_SEC,
  };
}
