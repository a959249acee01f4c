import { logLevel, optionalString, parseEnv } from '@imagehub/service-kit';
import { z } from 'zod';

const schema = z.object({
  DATABASE_URL: optionalString,
  /** Where the embedded Postgres keeps its cluster when DATABASE_URL is not set. */
  DATA_DIR: z.string().default('.data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(0).max(65535).default(54329),
  LOG_LEVEL: logLevel,
});

export type DbConfig = z.infer<typeof schema>;
export const loadDbConfig = (env: Record<string, string | undefined>): DbConfig => parseEnv(schema, env);
