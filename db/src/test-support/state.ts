import type { EmbeddedDatabase } from '../embedded';

/** Shared between global setup and teardown, which jest runs in the same process. */
export const state: {
  embedded?: EmbeddedDatabase;
  embeddedDataDir?: string;
  databaseName?: string;
  serverUrl?: string;
} = {};

/** The maintenance database on the same server, to create and drop test databases from. */
export function adminUrlFor(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/postgres';
  return url.toString();
}
