import { generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { UnauthenticatedReason } from './errors';
import { eventually } from './eventually';
import { RevocationList } from './revocations';
import { ACCESS_TOKEN_ALGORITHM, authenticateBearer, type Jwk, TokenVerifier } from './tokens';

/** A source the test controls: what it answers, or that it is down. */
function source(initial: string[] = []) {
  const state = { ids: initial, down: false, loads: 0 };
  return {
    state,
    load: async () => {
      state.loads += 1;
      if (state.down) throw new Error('connection refused');
      return [...state.ids];
    },
  };
}

describe('RevocationList', () => {
  let clock = 1_000_000;
  const now = () => clock;

  it('is unknown until loaded: an empty list is not the same as no list', async () => {
    const { load } = source();
    const list = new RevocationList({ load, pollIntervalMs: 1000, maxStalenessSec: 10, now });
    expect(list.check(randomUUID())).toBe('unknown');
    await list.reload();
    expect(list.check(randomUUID())).toBe('ok');
  });

  it('answers from the last load and picks up new revocations on the next one', async () => {
    const revoked = randomUUID();
    const src = source();
    const list = new RevocationList({ load: src.load, pollIntervalMs: 1000, maxStalenessSec: 10, now });
    await list.reload();
    src.state.ids = [revoked];
    expect(list.check(revoked)).toBe('ok');
    await list.reload();
    expect(list.check(revoked)).toBe('revoked');
    expect(list.size).toBe(1);
  });

  it('keeps answering while its source is down within the bound, and fails closed beyond it', async () => {
    const revoked = randomUUID();
    const src = source([revoked]);
    const list = new RevocationList({ load: src.load, pollIntervalMs: 1000, maxStalenessSec: 10, now });
    expect(await list.reload()).toBe(true);
    src.state.down = true;
    clock += 9_000;
    expect(await list.reload()).toBe(false);
    expect(list.check(revoked)).toBe('revoked');
    expect(list.check(randomUUID())).toBe('ok');
    clock += 1_001;
    expect(list.check(randomUUID())).toBe('unknown');
    expect(list.check(revoked)).toBe('unknown');
    src.state.down = false;
    await list.reload();
    expect(list.check(randomUUID())).toBe('ok');
  });

  it('shares one load among concurrent reloads', async () => {
    const src = source();
    const list = new RevocationList({ load: src.load, pollIntervalMs: 1000, maxStalenessSec: 10, now });
    await Promise.all([list.reload(), list.reload(), list.reload()]);
    expect(src.state.loads).toBe(1);
  });

  it('polls on its own once started, until stopped', async () => {
    const src = source();
    const list = new RevocationList({ load: src.load, pollIntervalMs: 20, maxStalenessSec: 10 });
    await list.start();
    await eventually('a second load', 5_000, () => src.state.loads >= 2, 10);
    list.stop();
    const loads = src.state.loads;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(src.state.loads).toBeLessThanOrEqual(loads + 1);
  });

  it('polls every listeningPollIntervalMs while told of revocations, every pollIntervalMs while not', async () => {
    const src = source();
    const list = new RevocationList({
      load: src.load,
      pollIntervalMs: 20,
      listeningPollIntervalMs: 60_000,
      maxStalenessSec: 1_000,
    });
    await list.start();
    try {
      const loadsIn = async (ms: number) => {
        const before = src.state.loads;
        await new Promise((resolve) => setTimeout(resolve, ms));
        return src.state.loads - before;
      };
      expect(await loadsIn(200)).toBeGreaterThanOrEqual(3);
      // The channel is up: one load at once (what was revoked while nobody listened), then quiet.
      const before = src.state.loads;
      list.setListening(true);
      expect(list.currentPollIntervalMs).toBe(60_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(src.state.loads - before).toBe(1);
      expect(await loadsIn(250)).toBe(0);
      // A notification reloads at once.
      src.state.ids = [randomUUID()];
      await list.notified();
      expect(list.check(src.state.ids[0]!)).toBe('revoked');
      // A load that fails while the channel is up: the frequent poll until one works again.
      src.state.down = true;
      await list.reload();
      expect(list.currentPollIntervalMs).toBe(20);
      expect(await loadsIn(200)).toBeGreaterThanOrEqual(3);
      src.state.down = false;
      await list.reload();
      expect(list.currentPollIntervalMs).toBe(60_000);
      // The channel is down: notifications are lost, so polling every 20 ms again.
      list.setListening(false);
      expect(list.currentPollIntervalMs).toBe(20);
      expect(await loadsIn(200)).toBeGreaterThanOrEqual(3);
    } finally {
      list.stop();
    }
  });

  it('loads once more after a running load when notified meanwhile: that load may have read before the commit', async () => {
    const revoked = randomUUID();
    let release = () => {};
    const answers: string[][] = [];
    let loads = 0;
    const list = new RevocationList({
      load: async () => {
        loads += 1;
        const answer = loads === 1 ? [] : [revoked];
        if (loads === 1) await new Promise<void>((resolve) => (release = resolve));
        answers.push(answer);
        return answer;
      },
      pollIntervalMs: 1000,
      maxStalenessSec: 10,
    });
    const first = list.reload();
    // The revocation commits (and notifies) while the first load is on its way back with the old list.
    const notified = Promise.all([list.notified(), list.notified()]);
    release();
    await first;
    await notified;
    expect(loads).toBe(2);
    expect(list.check(revoked)).toBe('revoked');
  });

  it('chained (a long poll): the next load when the last one is answered, no sooner than the poll interval after it began', async () => {
    const starts: number[] = [];
    let holdMs = 150;
    const list = new RevocationList({
      load: async (signal) => {
        starts.push(Date.now());
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, holdMs);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
        return { sessionIds: [], currentAfterMs: holdMs };
      },
      chained: true,
      pollIntervalMs: 100,
      maxStalenessSec: 10,
    });
    await list.start();
    await eventually('held loads follow each other', 5_000, () => starts.length >= 4, 10);
    // Each one as the last was answered (held 150 ms), not every 100 ms nor every 250.
    const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(140);
    for (const gap of gaps) expect(gap).toBeLessThan(400);
    // Answered at once (an auth service that does not hold requests): one per poll interval, no busy loop.
    holdMs = 0;
    const before = starts.length;
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect(starts.length - before).toBeLessThanOrEqual(12);
    expect(starts.length - before).toBeGreaterThanOrEqual(5);
    // Stopping aborts the load in flight: nothing holds the process.
    holdMs = 60_000;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const stopped = Date.now();
    list.stop();
    const count = starts.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(starts.length).toBe(count);
    expect(Date.now() - stopped).toBeLessThan(1_000);
  });

  it('counts a long poll as fresh from when its source read the list, never from later than now', async () => {
    const src = { currentAfterMs: 0 };
    const list = new RevocationList({
      load: async () => {
        clock += 4_000; // held 4 s
        return { sessionIds: [], currentAfterMs: src.currentAfterMs };
      },
      pollIntervalMs: 1000,
      maxStalenessSec: 10,
      now,
    });
    // Read as the request arrived: fresh as of the start, 4 s old when it is answered.
    await list.reload();
    clock += 6_000;
    expect(list.check(randomUUID())).toBe('ok');
    clock += 1;
    expect(list.check(randomUUID())).toBe('unknown');
    // Read again after the 4 s wait: fresh as of the answer.
    src.currentAfterMs = 4_000;
    await list.reload();
    clock += 10_000;
    expect(list.check(randomUUID())).toBe('ok');
    clock += 1;
    expect(list.check(randomUUID())).toBe('unknown');
    // A source that claims more than it could have waited is not believed beyond this clock.
    src.currentAfterMs = 60_000;
    await list.reload();
    clock += 10_001;
    expect(list.check(randomUUID())).toBe('unknown');
  });
});

describe('authenticateBearer with a revocation list', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk: Jwk = {
    ...(publicKey.export({ format: 'jwk' }) as Jwk),
    kid: 'k1',
    alg: ACCESS_TOKEN_ALGORITHM,
  };
  const verifier = new TokenVerifier({ issuer: 'iss', audience: 'aud', keys: [jwk] });
  const sign = (claims: Record<string, unknown>) =>
    `Bearer ${jwt.sign(claims, privateKey, {
      algorithm: ACCESS_TOKEN_ALGORITHM,
      keyid: 'k1',
      issuer: 'iss',
      audience: 'aud',
      subject: randomUUID(),
      expiresIn: 60,
    })}`;

  it('refuses a revoked session with SESSION_REVOKED and passes the session id of a live one', async () => {
    const revoked = randomUUID();
    const live = randomUUID();
    const list = new RevocationList({
      load: async () => [revoked],
      pollIntervalMs: 1000,
      maxStalenessSec: 10,
    });
    await list.reload();
    expect(await authenticateBearer(sign({ sid: revoked }), verifier, list)).toEqual({
      reason: UnauthenticatedReason.SESSION_REVOKED,
    });
    expect(await authenticateBearer(sign({ sid: live }), verifier, list)).toEqual({
      userId: expect.any(String),
      sessionId: live,
    });
  });

  it('answers `unavailable` for a genuine token while the list is stale, and still refuses bad tokens as such', async () => {
    const list = new RevocationList({
      load: () => Promise.reject(new Error('down')),
      pollIntervalMs: 1000,
      maxStalenessSec: 10,
    });
    await list.reload();
    expect(await authenticateBearer(sign({ sid: randomUUID() }), verifier, list)).toEqual({
      unavailable: true,
    });
    expect(await authenticateBearer('Bearer x.y.z', verifier, list)).toEqual({
      reason: UnauthenticatedReason.TOKEN_INVALID,
    });
    expect(await authenticateBearer(undefined, verifier, list)).toEqual({
      reason: UnauthenticatedReason.TOKEN_MISSING,
    });
  });

  it('refuses a session id that is not a UUID as an invalid token', async () => {
    expect(await authenticateBearer(sign({ sid: 'not-a-session' }), verifier)).toEqual({
      reason: UnauthenticatedReason.TOKEN_INVALID,
    });
    expect(await authenticateBearer(sign({ sid: 42 }), verifier)).toEqual({
      reason: UnauthenticatedReason.TOKEN_INVALID,
    });
  });
});
