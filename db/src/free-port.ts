import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Slices of the pickable range: one per jest worker (JEST_WORKER_ID 1-7), the last for everything else. */
const SLICES = 8;
/** Fewer ports than this in a slice and the range is not worth slicing. */
const MIN_SLICE = 100;
/** Below this, ports tend to belong to well-known services. */
const LOWEST = 10000;

/** The kernel's range for outgoing connections and `listen(0)` (`net.ipv4.ip_local_port_range`). */
export function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low: low!, high: high! };
  } catch {
    // not Linux: its default
  }
  return { low: 32768, high: 60999 };
}

/**
 * Where freePort picks: below the ephemeral range (from 10000, or from 1024 where the range starts
 * low), else above it; only where it leaves no room on either side, everywhere from 10000 up.
 */
export function pickableRange({ low, high } = ephemeralRange()): { from: number; to: number } {
  const room = SLICES * MIN_SLICE;
  if (low - LOWEST >= room) return { from: LOWEST, to: low };
  if (low - 1024 >= room) return { from: 1024, to: low };
  if (65536 - (high + 1) >= room) return { from: high + 1, to: 65536 };
  return { from: LOWEST, to: 65536 };
}

/** The ports this process may pick from: its jest worker's slice, or the last one outside jest. */
export function portSlice(
  workerId = process.env.JEST_WORKER_ID,
  range = pickableRange(),
): { from: number; to: number } {
  const size = Math.floor((range.to - range.from) / SLICES);
  const worker = Number(workerId);
  const index = Number.isInteger(worker) && worker >= 1 ? (worker - 1) % (SLICES - 1) : SLICES - 1;
  return { from: range.from + index * size, to: range.from + (index + 1) * size };
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1' }, () => probe.close(() => resolve(true)));
  });
}

/** This process' slice (the kernel's range read once) and the next port in turn in it. */
let slice: { from: number; to: number } | undefined;
let next: number | undefined;

/**
 * A port nobody listens on right now, for a server whose URL must be known before it starts.
 *
 * Taken from outside the kernel's ephemeral range, not with `listen(0)`: a port from that range,
 * once released, can become the local end of any outgoing connection (a pool's, a load
 * generator's) before the server it was meant for binds it, and that server then fails with
 * EADDRINUSE (seen in CI under load). Each jest worker picks from a slice of its own, in turn from
 * a random start, so parallel test files do not hand each other the same port either.
 */
export async function freePort(): Promise<number> {
  slice ??= portSlice();
  const { from, to } = slice;
  next ??= from + Math.floor(Math.random() * (to - from));
  for (let tries = 0; tries < to - from; tries++) {
    const port = next;
    next = next + 1 >= to ? from : next + 1;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${from}-${to - 1}`);
}
