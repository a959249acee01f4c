/**
 * freePort against the real network stack: the ports come from below the kernel's ephemeral range
 * (never the local end of an outgoing connection), one slice per jest worker, and a port somebody
 * listens on is passed over.
 */
import net from 'node:net';
import { ephemeralPortLow, freePort, portSlice } from './free-port';

const listenOn = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
const close = (server: net.Server) => new Promise((resolve) => server.close(resolve));

describe('freePort', () => {
  it('gives ports below the ephemeral range, in this worker’s slice, that can be listened on', async () => {
    const { from, to } = portSlice();
    expect(to).toBeLessThanOrEqual(ephemeralPortLow());
    const ports = [await freePort(), await freePort(), await freePort()];
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(from);
      expect(port).toBeLessThan(to);
      await close(await listenOn(port));
    }
  });

  it('gives parallel workers disjoint slices', () => {
    const slices = ['1', '2', '3', '4'].map((id) => portSlice(id));
    for (let i = 1; i < slices.length; i++) {
      expect(slices[i]?.from).toBe(slices[i - 1]?.to);
    }
    // Without a worker id (outside jest: the bench, npm start), the first slice.
    expect(portSlice('')).toEqual(slices[0]);
  });

  it('passes over a port that is taken', async () => {
    const candidate = await freePort();
    // The next port in turn is taken; freePort must skip it.
    const taken = await listenOn(candidate + 1).catch(() => undefined);
    try {
      const port = await freePort();
      if (taken) expect(port).not.toBe(candidate + 1);
      await close(await listenOn(port));
    } finally {
      if (taken) await close(taken);
    }
  });
});
