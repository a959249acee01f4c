/**
 * Checks `npm start` makes before starting anything, so that a mistake is named at once instead of
 * surfacing as a 60-second wait for readiness or a stack trace from initdb.
 */
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#port-blocking): browsers and
 * Node's fetch refuse to connect to them, so a service there could never be reached from either.
 */
const BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** Why a port cannot serve browsers and fetch(), or undefined when it can. */
export function browserRefusedPort(port: number): string | undefined {
  if (port === 0) return 'port 0 picks a random port, which nobody could find; choose one';
  if (BAD_PORTS.has(port)) {
    return `browsers and fetch() refuse to connect to port ${port} (one of the Fetch standard's blocked ports, ERR_UNSAFE_PORT in Chrome); choose another, e.g. 4000-4002 or 8080`;
  }
  return undefined;
}

/** Whether something already listens on 127.0.0.1:port (binding it fails with EADDRINUSE). */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

/**
 * As root, the embedded Postgres runs as an unprivileged `postgres` user (Postgres refuses to run as
 * root), which needs to pass through every folder above its data. A checkout in root's own 0700
 * home fails deep inside initdb with EACCES; this names the folder and the ways out instead.
 */
export function unreachableByPostgresUser(dataDir: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let folder = path.dirname(path.resolve(dataDir));
  for (;;) {
    let mode: number | undefined;
    try {
      mode = statSync(folder).mode;
    } catch {
      // Not there yet: created later, with a mode that lets Postgres through.
    }
    if (mode !== undefined && (mode & 0o001) === 0) {
      return [
        `DATA_DIR=${dataDir}: running as root, the embedded Postgres runs as the user "postgres", which cannot enter ${folder} (mode ${(mode & 0o777).toString(8).padStart(4, '0')}).`,
        '    Either put the data where it can: DATA_DIR=/var/tmp/imagehub npm start',
        `    or let it through that folder: chmod o+x ${folder}`,
        '    or run npm start as a normal user, or use a Postgres of your own: DATABASE_URL=postgres://... npm start',
      ].join('\n');
    }
    const parent = path.dirname(folder);
    if (parent === folder) return undefined;
    folder = parent;
  }
}
