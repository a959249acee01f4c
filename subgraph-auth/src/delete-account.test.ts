/**
 * deleteAccount at the auth subgraph: throttled by the login counters, and publishing exactly one
 * `user.deleted` per deleted account through the outbox (Postgres transport here). The whole flow
 * with images is tested at the gateway (gateway/src/account-deletion*.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { type Consumer, type Envelope, PostgresTransport, USER_DELETED } from '@imagehub/messaging';
import { eventually, isUuid } from '@imagehub/service-kit';
import { type StartedAuthService, startAuthService } from './test-support';

const DELETE = 'mutation ($password: String!) { deleteAccount(password: $password) }';
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';

// A queue of this file's own, bound to user.deleted: it receives every deletion in the test database.
const queue = `test-user-deleted-${randomBytes(4).toString('hex')}`;
let transport: PostgresTransport;
let consumer: Consumer;
const received: Envelope[] = [];
const started: StartedAuthService[] = [];

beforeAll(async () => {
  transport = new PostgresTransport({
    url: testDatabaseUrl(),
    applicationName: 'test-delete-account',
    pollIntervalMs: 100,
  });
  consumer = await transport.consume(
    { queue, events: [USER_DELETED], prefetch: 1, maxAttempts: 3 },
    async (m) => {
      received.push(m);
    },
  );
});
afterAll(async () => {
  await consumer.stop();
  await transport.close();
  await Promise.all(started.map((s) => s.close()));
});

async function service(env: Record<string, string> = {}) {
  const auth = await startAuthService({ env: { OUTBOX_POLL_INTERVAL_MS: '200', ...env } });
  started.push(auth);
  return auth;
}

const fakeIp = () => `198.51.100.${1 + (randomBytes(1)[0]! % 254)}`;
const codeOf = (result: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  result.errors?.[0]?.extensions?.code ?? 'OK';
const eventsFor = (userId: string) =>
  received.filter((m) => (m.data as { userId?: string }).userId === userId);

describe('deleteAccount at the auth subgraph', () => {
  it('publishes one user.deleted (id, type, time, version; the user id) through the outbox', async () => {
    const auth = await service();
    const user = await auth.registerUser();
    const result = await auth.graphql(
      DELETE,
      { password: user.password },
      { authorization: `Bearer ${user.accessToken}` },
    );
    expect(result.data).toEqual({ deleteAccount: true });
    await eventually('user.deleted published', 10_000, () => eventsFor(user.id).length === 1);
    const [event] = eventsFor(user.id);
    expect(event).toEqual({
      id: expect.any(String),
      type: 'user.deleted',
      time: expect.any(String),
      version: 1,
      data: { userId: user.id },
    });
    expect(isUuid(event!.id)).toBe(true);
    expect(Number.isNaN(Date.parse(event!.time))).toBe(false);
    expect(await auth.db('auth.outbox').count<{ count: string }[]>('* as count')).toEqual([{ count: '0' }]);
    // Its sessions were revoked in the deleting transaction: this service refuses the token at once.
    const me = await auth.graphql('{ me { id } }', {}, { authorization: `Bearer ${user.accessToken}` });
    expect(me.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
  });

  it('deletes an account once when asked twice at the same moment: one true, one refusal, one event', async () => {
    const auth = await service();
    const user = await auth.registerUser();
    const headers = { authorization: `Bearer ${user.accessToken}` };
    const results = await Promise.all(
      [1, 2].map(() => auth.graphql(DELETE, { password: user.password }, headers)),
    );
    expect(results.map(codeOf).sort()).toEqual(['OK', 'UNAUTHENTICATED']);
    await eventually('user.deleted published', 10_000, () => eventsFor(user.id).length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(eventsFor(user.id)).toHaveLength(1);
  });

  it('counts a wrong password like a failed login: the address is locked for the account, the owner elsewhere is not', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_EMAIL_AND_IP: '3' });
    const user = await auth.registerUser();
    const attacker = fakeIp();
    const asAttacker = { authorization: `Bearer ${user.accessToken}`, 'x-forwarded-for': attacker };
    for (const guess of ['guess 1', 'guess 2']) {
      expect(
        codeOf(
          await auth.graphql(LOGIN, { email: user.email, password: guess }, { 'x-forwarded-for': attacker }),
        ),
      ).toBe('UNAUTHENTICATED');
    }
    const wrong = await auth.graphql(DELETE, { password: 'guess 3' }, asAttacker);
    expect(wrong.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'BAD_CREDENTIALS',
    });
    // The caller typed no email: the words are about the password alone.
    expect(wrong.errors?.[0]?.message).toBe('The password is wrong');
    // Three failures from this address: even the right password is refused here now, at login and here.
    const locked = await auth.graphql(DELETE, { password: user.password }, asAttacker);
    expect(codeOf(locked)).toBe('TOO_MANY_REQUESTS');
    expect(
      codeOf(
        await auth.graphql(
          LOGIN,
          { email: user.email, password: user.password },
          { 'x-forwarded-for': attacker },
        ),
      ),
    ).toBe('TOO_MANY_REQUESTS');
    expect(await auth.db('auth.users').where({ id: user.id }).first('id')).toEqual({ id: user.id });
    // The owner from their own address is not locked out.
    const own = await auth.graphql(
      DELETE,
      { password: user.password },
      { authorization: `Bearer ${user.accessToken}`, 'x-forwarded-for': '203.0.113.7' },
    );
    expect(own.data).toEqual({ deleteAccount: true });
  });

  it("forgets the account's throttle counters (its email's streaks, locks and familiar addresses), not others'", async () => {
    const auth = await service({ TRUST_PROXY: 'loopback' });
    const [user, other] = [await auth.registerUser(), await auth.registerUser()];
    const from = fakeIp();
    for (const someone of [user, other]) {
      // A wrong password (a failure streak) and a right one (a familiar address), from one address.
      await auth.graphql(LOGIN, { email: someone.email, password: 'not it' }, { 'x-forwarded-for': from });
      const login = await auth.graphql(
        LOGIN,
        { email: someone.email, password: someone.password },
        { 'x-forwarded-for': from },
      );
      expect(codeOf(login)).toBe('OK');
    }
    // Emails are hashed in the keys: a deleted account's rows would tie its email to its addresses.
    const counters = (email: string) =>
      auth
        .db('auth.rate_limits')
        .whereLike('key', `%${createHash('sha256').update(email).digest('base64url')}%`)
        .pluck('key');
    expect((await counters(user.email)).some((key) => key.includes(`login-familiar`))).toBe(true);
    const othersBefore = await counters(other.email);
    expect(othersBefore.length).toBeGreaterThan(0);

    const deleted = await auth.graphql(
      DELETE,
      { password: user.password },
      { authorization: `Bearer ${user.accessToken}`, 'x-forwarded-for': from },
    );
    expect(deleted.data).toEqual({ deleteAccount: true });
    expect(await counters(user.email)).toEqual([]);
    expect((await counters(other.email)).sort()).toEqual(othersBefore.sort());
  });

  it('refuses an overlong password before any work, like login', async () => {
    const auth = await service();
    const user = await auth.registerUser();
    const result = await auth.graphql(
      DELETE,
      { password: 'x'.repeat(10_000) },
      { authorization: `Bearer ${user.accessToken}` },
    );
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
    expect(await auth.db('auth.users').where({ id: user.id }).first('id')).toEqual({ id: user.id });
  });
});
