/**
 * freePort against the real network stack: the ports come from outside the kernel's ephemeral
 * range (never the local end of an outgoing connection), one slice per jest worker, and a port
 * somebody listens on is passed over.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort, pickableRange, portSlice } from './free-port';

const listenOn = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
const close = (server: net.Server) => new Promise((resolve) => server.close(resolve));

/** The kernel's own answer, read here rather than through the module under test. */
const [ephemeralLow, ephemeralHigh] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
  .trim()
  .split(/\s+/)
  .map(Number) as [number, number];

describe('freePort', () => {
  it('gives ports outside the ephemeral range, in this worker’s slice, that can be listened on', async () => {
    const { from, to } = portSlice();
    const ports = [await freePort(), await freePort(), await freePort()];
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(from);
      expect(port).toBeLessThan(to);
      expect(port < ephemeralLow || port > ephemeralHigh).toBe(true);
      await close(await listenOn(port));
    }
  });

  it('keeps out of the ephemeral range however the kernel is tuned', () => {
    const outside = (range: { from: number; to: number }, low: number, high: number) =>
      range.to <= low || range.from > high;
    expect(outside(pickableRange({ low: 32768, high: 60999 }), 32768, 60999)).toBe(true);
    // A range starting low (little room from 10000 up, nothing above) and one ending early.
    expect(pickableRange({ low: 10500, high: 65535 })).toEqual({ from: 1024, to: 10500 });
    expect(pickableRange({ low: 1024, high: 40000 })).toEqual({ from: 40001, to: 65536 });
  });

  it('gives parallel workers disjoint slices, and processes outside jest one of their own', () => {
    const slices = ['1', '2', '3', '4', '5', '6', '7', ''].map((id) => portSlice(id));
    for (let i = 1; i < slices.length; i++) {
      expect(slices[i]?.from).toBe(slices[i - 1]?.to);
    }
  });

  it('passes over a port that is taken', async () => {
    const { to } = portSlice();
    // A port whose successor, the next one in turn, is still in the slice.
    let candidate = await freePort();
    while (candidate + 1 >= to) candidate = await freePort();
    const taken = await listenOn(candidate + 1).catch(() => undefined);
    try {
      // Taken by this test or by someone else: either way freePort must not give it.
      const port = await freePort();
      expect(port).not.toBe(candidate + 1);
      await close(await listenOn(port));
    } finally {
      if (taken) await close(taken);
    }
  });
});
