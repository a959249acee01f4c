import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Linux's default when /proc does not say (`net.ipv4.ip_local_port_range`). */
const DEFAULT_EPHEMERAL_LOW = 32768;
const LOWEST = 10000;
/** Slices of the range below the ephemeral ports, one per jest worker (JEST_WORKER_ID). */
const SLICES = 8;

/** The lowest port the kernel hands out for outgoing connections and `listen(0)`. */
export function ephemeralPortLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST + SLICES * 100 ? low : DEFAULT_EPHEMERAL_LOW;
  } catch {
    return DEFAULT_EPHEMERAL_LOW;
  }
}

/** The ports this process may pick from: its worker's slice of [10000, ephemeral low). */
export function portSlice(workerId = process.env.JEST_WORKER_ID): { from: number; to: number } {
  const size = Math.floor((ephemeralPortLow() - LOWEST) / SLICES);
  const index = (Math.max(1, Number(workerId) || 1) - 1) % SLICES;
  return { from: LOWEST + index * size, to: LOWEST + (index + 1) * size };
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

let next: number | undefined;

/**
 * A port nobody listens on right now, for a server whose URL must be known before it starts.
 *
 * Taken from below the kernel's ephemeral range, not with `listen(0)`: a port from that range, once
 * released, can become the local end of any outgoing connection (a pool's, a load generator's)
 * before the server it was meant for binds it, and that server then fails with EADDRINUSE (seen in
 * CI under load). Each jest worker picks from a slice of its own, in turn from a random start, so
 * parallel test files do not hand each other the same port either.
 */
export async function freePort(): Promise<number> {
  const { from, to } = portSlice();
  next ??= from + Math.floor(Math.random() * (to - from));
  for (let tries = 0; tries < to - from; tries++) {
    const port = next;
    next = next + 1 >= to ? from : next + 1;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${from}-${to - 1}`);
}
