import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchRevokedSessions } from './app';

/** A stand-in for the auth service: answers each request as `respond` says, or never. */
async function stub(respond: (url: URL, res: http.ServerResponse) => void) {
  const seen: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    seen.push(url);
    respond(url, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/revoked-sessions`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const json = (res: http.ServerResponse, body: unknown) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};

describe('fetchRevokedSessions', () => {
  it('asks plainly without a known list, and long-polls with one; credits no more than it asked to wait', async () => {
    const auth = await stub((url, res) =>
      json(res, { sessionIds: ['a'], waitedMs: url.searchParams.has('wait') ? 9_999 : 0 }),
    );
    try {
      expect(await fetchRevokedSessions(auth.url, { timeoutMs: 1_000, waitMs: 4_000 })).toEqual({
        sessionIds: ['a'],
        currentAfterMs: 0,
      });
      expect(await fetchRevokedSessions(auth.url, { timeoutMs: 1_000, waitMs: 4_000, known: 'k' })).toEqual({
        sessionIds: ['a'],
        currentAfterMs: 4_000,
      });
      expect(auth.seen.map((url) => url.search)).toEqual(['', '?wait=4000&known=k']);
    } finally {
      await auth.close();
    }
  });

  it('takes an answer without waitedMs (an auth service that does not hold requests) as fresh from the request', async () => {
    const auth = await stub((_url, res) => json(res, { sessionIds: [] }));
    try {
      expect(await fetchRevokedSessions(auth.url, { timeoutMs: 1_000, waitMs: 4_000, known: 'k' })).toEqual({
        sessionIds: [],
        currentAfterMs: 0,
      });
    } finally {
      await auth.close();
    }
  });

  it('gives up after the wait plus the timeout, and at once when its caller stops', async () => {
    const auth = await stub(() => {}); // holds every request forever
    try {
      let started = Date.now();
      await expect(
        fetchRevokedSessions(auth.url, { timeoutMs: 200, waitMs: 300, known: 'k' }),
      ).rejects.toThrow();
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect(Date.now() - started).toBeLessThan(2_000);

      const stopping = new AbortController();
      started = Date.now();
      const held = fetchRevokedSessions(auth.url, {
        timeoutMs: 1_000,
        waitMs: 30_000,
        known: 'k',
        signal: stopping.signal,
      });
      setTimeout(() => stopping.abort(), 100);
      await expect(held).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await auth.close();
    }
  });
});
