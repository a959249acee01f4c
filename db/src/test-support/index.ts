/** For tests: the URL of the migrated database that jest's global setup made for this run. */
export function testDatabaseUrl(): string {
  const url = process.env.IMAGEHUB_TEST_DB_URL;
  if (!url) throw new Error('IMAGEHUB_TEST_DB_URL is not set: run tests through jest (npm test)');
  return url;
}

export { createScratchDatabase } from './scratch-database';
