import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { authRevocationList, fetchRevokedSessions } from './revocations';

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

describe("the gateway's revocation list", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** The defaults scaled down (wait 4 s, bound 10 s, 1 s for an answer): wait 1 s, bound 3 s, 0.3 s. */
  const config = (url: string) => ({
    revokedSessionsUrl: url,
    readyCheckTimeoutMs: 300,
    revocation: { pollIntervalMs: 500, listeningPollIntervalMs: 1_000, maxStalenessSec: 3 },
  });

  it('stays current with an auth service slower than READY_CHECK_TIMEOUT_MS, none of its answers given up', async () => {
    // Every answer 0.7 s late (more than the 0.3 s, well within what the list has left): a
    // held request at its wait's end plus that, a plain one after that alone. Before, each was
    // given up after 0.3 s, the list never loaded, and every signed-in upload was refused.
    const asked: { wait: string | null; timedOut?: boolean }[] = [];
    const auth = await stub((url, res) => {
      const wait = url.searchParams.get('wait');
      const entry: (typeof asked)[number] = { wait };
      asked.push(entry);
      res.on('close', () => {
        if (!res.writableEnded) entry.timedOut = true;
      });
      setTimeout(
        () => json(res, { sessionIds: ['gone'], waitedMs: Number(wait ?? 0) }),
        Number(wait ?? 0) + 700,
      );
    });
    const list = authRevocationList(config(auth.url), pino({ level: 'silent' }));
    try {
      expect(await list.start()).toBe(true);
      const seen = new Set<string>();
      for (let at = 0; at < 6_000; at += 50) {
        seen.add(list.check('live'));
        await sleep(50);
      }
      expect([...seen]).toEqual(['ok']);
      expect(list.check('gone')).toBe('revoked');
      // One plain request to begin with, then held ones (1 s + 0.7 s each), none given up.
      expect(asked[0]?.wait).toBeNull();
      expect(asked.slice(1).every((request) => request.wait === '1000')).toBe(true);
      expect(asked.length).toBeGreaterThanOrEqual(4);
      expect(asked.filter((request) => request.timedOut)).toEqual([]);
    } finally {
      list.stop();
      await auth.close();
    }
  });

  it('gives up a held request no later than the list goes stale, and asks again at once', async () => {
    // Held requests are never answered (a connection that died without saying so); plain ones are.
    const asked: { at: number; wait: string | null }[] = [];
    const auth = await stub((url, res) => {
      asked.push({ at: Date.now(), wait: url.searchParams.get('wait') });
      if (!url.searchParams.has('wait')) json(res, { sessionIds: [] });
    });
    const list = authRevocationList(config(auth.url), pino({ level: 'silent' }));
    try {
      const started = Date.now();
      expect(await list.start()).toBe(true);
      await sleep(4_000);
      const plain = asked.filter((request) => request.wait === null);
      // The first request, and the retry after the held one was given up, at the bound (3 s).
      expect(plain.length).toBe(2);
      expect(plain[1]!.at - started).toBeGreaterThanOrEqual(2_700);
      expect(plain[1]!.at - started).toBeLessThan(3_600);
      expect(list.check('live')).toBe('ok');
    } finally {
      list.stop();
      await auth.close();
    }
  });
});
