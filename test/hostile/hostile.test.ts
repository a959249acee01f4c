/**
 * The hostile-input suite: the table in cases.ts against the whole system (three processes, a
 * database of its own on the test server). After the table: no password or token that the suite
 * used appears in any service's logs, and every answer carried the security headers.
 */
import { createScratchDatabase } from '@imagehub/db/test-support';
import { uniquePng } from '../support/images';
import { missingSecurityHeaders, type RowCounts, SERVICES, System } from '../support/system';
import { tokenFactory } from '../support/tokens';
import { type HostileCase, type HostileContext, hostileCases } from './cases';

const MAX_UPLOAD_BYTES = 256 * 1024;
/** Tables whose row count an attack must leave alone. (Refresh tokens are rotated by the race cases' winner.) */
const GUARDED: (keyof RowCounts)[] = ['users', 'sessions', 'images', 'blobs'];

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let sys: System;
let ctx: HostileContext;

beforeAll(async () => {
  scratch = await createScratchDatabase();
  sys = await System.start({ database: { url: scratch.url }, maxUploadBytes: MAX_UPLOAD_BYTES });
  const alice = await sys.register({ name: 'Alice' });
  const bob = await sys.register({ name: 'Bob' });
  ctx = {
    sys,
    alice,
    bob,
    aliceImage: await sys.uploadOk(await uniquePng(), alice.accessToken),
    bobImage: await sys.uploadOk(await uniquePng(), bob.accessToken),
    tokens: tokenFactory(sys.dataDir, alice.accessToken),
    maxUploadBytes: MAX_UPLOAD_BYTES,
  };
}, 180_000);

afterAll(async () => {
  await sys?.stop();
  await scratch?.drop();
});

/** Fails instead of hanging: a request that never ends is itself a finding. */
function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

async function expectStillAnswers(service: HostileCase['service']): Promise<void> {
  if (service === 'subgraph-image') {
    const result = await sys.gql('{ myImages(first: 1) { totalCount } }', {}, ctx.alice.accessToken, {
      service,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ myImages: { totalCount: expect.any(Number) } });
  } else {
    const result = await sys.gql('{ me { id } }', {}, ctx.alice.accessToken, { service });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ me: { id: ctx.alice.userId } });
  }
}

function expectOneOf<T>(what: string, actual: T, allowed: T[], described: string): void {
  if (!allowed.includes(actual))
    throw new Error(`${what} ${actual} is not one of ${allowed.join(', ')}; answer: ${described}`);
}

const guarded = (counts: RowCounts) => Object.fromEntries(GUARDED.map((key) => [key, counts[key]]));

/** The number of cases in the table today: raise it with every case added, so none can vanish unnoticed. */
const MIN_HOSTILE_CASES = 202;

describe('hostile input', () => {
  test(`the table has at least ${MIN_HOSTILE_CASES} cases with unique names`, () => {
    expect(hostileCases.length).toBeGreaterThanOrEqual(MIN_HOSTILE_CASES);
    expect(new Set(hostileCases.map((c) => c.name)).size).toBe(hostileCases.length);
  });

  test.each(hostileCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const prepared = c.prepare ? await c.prepare(ctx) : undefined;
    const before = await sys.counts();
    const outcome = await bounded(c.attack(ctx, prepared), 10_000, c.name);
    const described = `${outcome.status} ${outcome.text.slice(0, 300)}`;

    // The answer is judged after the aftermath is checked, so a wrong answer still reports whether
    // the service survived and whether anything was written.
    let wrongAnswer: unknown;
    try {
      if (c.status) expectOneOf('status', outcome.status, c.status, described);
      if (c.codes === 'none') expect(outcome.codes).toEqual([]);
      else if (c.codes) {
        if (outcome.codes.length === 0)
          throw new Error(`expected an error coded ${c.codes.join('|')}: ${described}`);
        for (const code of outcome.codes) expectOneOf('code', code, c.codes, described);
      }
      if (c.field) expect(outcome.fields).toContain(c.field);
      expect(outcome.codes).not.toContain('INTERNAL_SERVER_ERROR');
      await c.check?.(outcome, ctx, prepared);
    } catch (error) {
      wrongAnswer = error;
    }

    if (c.settleMs) await new Promise((resolve) => setTimeout(resolve, c.settleMs));
    await bounded(expectStillAnswers(c.service), 10_000, `${c.service} answering after the attack`);
    if (c.service === 'gateway')
      await bounded(expectStillAnswers('subgraph-image'), 10_000, 'image subgraph');
    expect(guarded(await sys.counts())).toEqual(guarded(before));
    expect(await sys.storageProblems()).toEqual([]);
    if (wrongAnswer) throw wrongAnswer;
  });

  test('no password, access token or refresh token used in the suite reaches any log', () => {
    const logs = sys.allLogs();
    expect(logs.length).toBeGreaterThan(0);
    expect(sys.secrets.size).toBeGreaterThan(10);
    const leaked = [...sys.secrets].filter((secret) => secret.length >= 8 && logs.includes(secret));
    expect(leaked.map((secret) => `${secret.slice(0, 12)}…`)).toEqual([]);
    // Whatever the token, no log line carries a bearer credential or a JWT-shaped string.
    expect(logs).not.toMatch(/Bearer\s+[A-Za-z0-9_-]{10,}/);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/);
  });

  test('every answer of every service carried the security headers', () => {
    for (const service of SERVICES) expect(sys.answers.some((a) => a.service === service)).toBe(true);
    const answers = sys.answers
      // 431 (headers too large) is written by Node's HTTP parser before any application code runs.
      .filter((a) => a.status !== 0 && a.status !== 431);
    expect(missingSecurityHeaders(answers)).toEqual([]);
  });
});
