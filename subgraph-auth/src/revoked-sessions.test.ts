/**
 * GET /revoked-sessions as a long poll, for the gateway: held until a revocation commits (its
 * NOTIFY) or the caller's wait runs out, answered at once when the caller's list is already behind.
 * Other test files revoke sessions in the same database meanwhile, so an early answer is accepted
 * whenever the list it carries differs from the caller's.
 */
import { revocationDigest } from '@imagehub/service-kit';
import jwt from 'jsonwebtoken';
import { type StartedAuthService, startAuthService } from './test-support';

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth?.close();
});

interface Answer {
  sessionIds: string[];
  waitedMs?: number;
}

async function ask(query = ''): Promise<{ answer: Answer; tookMs: number }> {
  const started = performance.now();
  const response = await fetch(`${auth.url}/revoked-sessions${query}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return { answer: (await response.json()) as Answer, tookMs: performance.now() - started };
}

const sidOf = (token: string) => (jwt.decode(token) as { sid: string }).sid;

describe('GET /revoked-sessions', () => {
  it('answers at once without a wait, as before', async () => {
    const { answer, tookMs } = await ask();
    expect(Array.isArray(answer.sessionIds)).toBe(true);
    expect(answer.waitedMs).toBe(0);
    expect(tookMs).toBeLessThan(1_000);
  });

  it('answers at once when the caller’s list is behind', async () => {
    const { answer, tookMs } = await ask(`?wait=5000&known=${revocationDigest(['not-what-it-holds'])}`);
    expect(Array.isArray(answer.sessionIds)).toBe(true);
    expect(tookMs).toBeLessThan(1_000);
  });

  it('holds a caller that is up to date until a revocation commits, and answers with it at once', async () => {
    const user = await auth.registerUser();
    const sid = sidOf(user.accessToken);
    // Wait until this process LISTENs (it held nothing before): a short held request says so.
    const { answer: current } = await ask();
    const held = ask(`?wait=10000&known=${revocationDigest(current.sessionIds)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const revokedAt = performance.now();
    const result = await auth.graphql('mutation { logoutEverywhere }', undefined, {
      authorization: `Bearer ${user.accessToken}`,
    });
    expect(result.errors).toBeUndefined();
    let { answer } = await held;
    const heldUntilOurs = answer.sessionIds.includes(sid);
    // Another file's revocation may have answered it first: then one more round, as the gateway does.
    if (!heldUntilOurs) {
      ({ answer } = await ask(`?wait=10000&known=${revocationDigest(answer.sessionIds)}`));
    }
    expect(answer.sessionIds).toContain(sid);
    // Answered on the revocation's NOTIFY, not at the end of the 10 s wait.
    expect(performance.now() - revokedAt).toBeLessThan(3_000);
    // Held, then read again: the list it answers with was read after the request arrived.
    if (heldUntilOurs) expect(answer.waitedMs).toBeGreaterThan(0);
  });

  it('answers when the wait runs out, with how long after the request it read the list', async () => {
    const { answer: current } = await ask();
    const known = revocationDigest(current.sessionIds);
    const { answer, tookMs } = await ask(`?wait=600&known=${known}`);
    if (revocationDigest(answer.sessionIds) === known) {
      // Nothing revoked meanwhile: held for the whole wait, and read again at its end.
      expect(tookMs).toBeGreaterThanOrEqual(590);
      expect(answer.waitedMs).toBeGreaterThanOrEqual(590);
      expect(answer.waitedMs).toBeLessThanOrEqual(tookMs);
    }
  });
});
