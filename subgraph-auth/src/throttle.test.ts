import { randomBytes } from 'node:crypto';
import { type StartedAuthService, startAuthService } from './test-support';

const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken }
}`;
const REGISTER = `mutation Register($name: String!, $email: String!, $password: String!) {
  register(name: $name, email: $email, password: $password) { accessToken }
}`;
const REFRESH = 'mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { accessToken } }';

const started: StartedAuthService[] = [];
async function service(env: Record<string, string>, throttleNamespace?: string) {
  const auth = await startAuthService({ env, throttleNamespace });
  started.push(auth);
  return auth;
}
// Each test's services close when it ends: held to the end of the file, some seventeen services'
// pools took the shared Postgres past max_connections while other files ran beside this one (a
// registration failed with INTERNAL_SERVER_ERROR on "sorry, too many clients already").
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

const fakeIp = () => `198.51.100.${1 + (randomBytes(1)[0]! % 254)}`;
const login = (auth: StartedAuthService, email: string, password: string, ip?: string) =>
  auth.graphql(LOGIN, { email, password }, ip ? { 'x-forwarded-for': ip } : {});
const codeOf = (result: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  result.errors?.[0]?.extensions?.code ?? 'OK';

function expectThrottled(
  result: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] },
  windowSec: number,
) {
  expect(result.data).toBeNull();
  const extensions = result.errors![0]!.extensions!;
  expect(extensions.code).toBe('TOO_MANY_REQUESTS');
  expect(Number.isInteger(extensions.retryAfter)).toBe(true);
  expect(extensions.retryAfter).toBeGreaterThanOrEqual(1);
  expect(extensions.retryAfter).toBeLessThanOrEqual(windowSec);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const retryAfterOf = (result: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  Number(result.errors?.[0]?.extensions?.retryAfter);

describe('login throttling per account and address', () => {
  it('locks one address out of one account after a few failures, even with the right password, and nothing else', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_EMAIL_AND_IP: '3' });
    const victim = await auth.registerUser();
    const bystander = await auth.registerUser();
    const attacker = fakeIp();
    for (let i = 0; i < 3; i++)
      expect(codeOf(await login(auth, victim.email, `guess ${i}`, attacker))).toBe('UNAUTHENTICATED');
    expectThrottled(await login(auth, victim.email.toUpperCase(), 'guess 4', attacker), 60);
    expectThrottled(await login(auth, victim.email, victim.password, attacker), 60);
    // The owner, from their own address, is not locked out by someone else's guesses.
    expect(codeOf(await login(auth, victim.email, victim.password, '203.0.113.200'))).toBe('OK');
    expect(codeOf(await login(auth, bystander.email, bystander.password, attacker))).toBe('OK');
  });

  it('backs off: each further failure doubles the lock, up to the maximum', async () => {
    const auth = await service({
      TRUST_PROXY: 'loopback',
      LOGIN_FAILURES_PER_EMAIL_AND_IP: '1',
      LOGIN_LOCKOUT_BASE_SEC: '2',
      LOGIN_LOCKOUT_MAX_SEC: '4',
    });
    const user = await auth.registerUser();
    const ip = fakeIp();
    // retryAfter counts down from the lock's length, so each is checked as a range: (half, whole].
    expect(codeOf(await login(auth, user.email, 'wrong 1', ip))).toBe('UNAUTHENTICATED');
    expect(retryAfterOf(await login(auth, user.email, 'wrong 2', ip))).toBeGreaterThanOrEqual(1);
    await sleep(2100);
    expect(codeOf(await login(auth, user.email, 'wrong 3', ip))).toBe('UNAUTHENTICATED');
    const doubled = retryAfterOf(await login(auth, user.email, 'wrong 4', ip));
    expect(doubled).toBeGreaterThan(2);
    expect(doubled).toBeLessThanOrEqual(4);
    await sleep(4100);
    expect(codeOf(await login(auth, user.email, 'wrong 5', ip))).toBe('UNAUTHENTICATED');
    // Capped at LOGIN_LOCKOUT_MAX_SEC (not 8); waiting and retrying did not make it longer either.
    const capped = retryAfterOf(await login(auth, user.email, 'wrong 6', ip));
    expect(capped).toBeGreaterThan(2);
    expect(capped).toBeLessThanOrEqual(4);
  }, 30_000);

  it('lets one attempt at a time through once the free failures are used up', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_EMAIL_AND_IP: '1' });
    const user = await auth.registerUser();
    const ip = fakeIp();
    expect(codeOf(await login(auth, user.email, 'wrong', ip))).toBe('UNAUTHENTICATED');
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, i) => login(auth, user.email, `burst ${i}`, ip)),
    );
    expect(burst.filter((r) => codeOf(r) === 'UNAUTHENTICATED').length).toBeLessThanOrEqual(1);
  });

  it('forgives a person who mistypes: a successful login clears the streak', async () => {
    const auth = await service({ LOGIN_FAILURES_PER_EMAIL_AND_IP: '3' });
    const user = await auth.registerUser();
    for (let round = 0; round < 3; round++) {
      expect(codeOf(await login(auth, user.email, 'typo one'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await login(auth, user.email, 'typo two'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await login(auth, user.email, user.password))).toBe('OK');
    }
  });

  it('counts in Postgres, so failures on one replica count on another', async () => {
    const namespace = `replicas-${randomBytes(4).toString('hex')}`;
    const env = { LOGIN_FAILURES_PER_EMAIL_AND_IP: '3' };
    const [a, b] = [await service(env, namespace), await service(env, namespace)];
    const user = await a.registerUser();
    expect(codeOf(await login(a, user.email, 'wrong 1'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await login(b, user.email, 'wrong 2'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await login(a, user.email, 'wrong 3'))).toBe('UNAUTHENTICATED');
    expectThrottled(await login(b, user.email, user.password), 60);
  });

  it('does not charge a login that fails validation', async () => {
    const auth = await service({ LOGIN_FAILURES_PER_EMAIL_AND_IP: '1' });
    const user = await auth.registerUser();
    for (let i = 0; i < 3; i++) {
      expect(codeOf(await login(auth, `${user.email}\u0000`, 'x'))).toBe('BAD_USER_INPUT');
    }
    expect(codeOf(await login(auth, user.email, user.password))).toBe('OK');
  });
});

describe('changePassword, under the login throttle', () => {
  const CHANGE = `mutation Change($current: String!, $next: String!) {
    changePassword(currentPassword: $current, newPassword: $next) { accessToken }
  }`;
  const change = (auth: StartedAuthService, token: string, current: string, ip: string) =>
    auth.graphql(
      CHANGE,
      { current, next: 'a brand new passphrase' },
      { authorization: `Bearer ${token}`, 'x-forwarded-for': ip },
    );

  it('counts a wrong current password as a failed login: the address is locked, at login too; the owner elsewhere is not', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_EMAIL_AND_IP: '3' });
    const user = await auth.registerUser();
    const thief = fakeIp();
    // A stolen access token is no password oracle: after one failed login, two wrong guesses here...
    expect(codeOf(await login(auth, user.email, 'guess 1', thief))).toBe('UNAUTHENTICATED');
    for (const guess of ['guess 2', 'guess 3']) {
      const wrong = await change(auth, user.accessToken, guess, thief);
      expect(wrong.errors?.[0]?.extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'BAD_CREDENTIALS',
      });
    }
    // ...and the address is locked out of the account, with the right password, here and at login.
    expectThrottled(await change(auth, user.accessToken, user.password, thief), 60);
    expectThrottled(await login(auth, user.email, user.password, thief), 60);
    // The owner, from their own address, changes it.
    expect(codeOf(await change(auth, user.accessToken, user.password, '203.0.113.9'))).toBe('OK');
  });

  it('forgives the streak once the right current password is given, like a successful login', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_EMAIL_AND_IP: '2' });
    const user = await auth.registerUser();
    const ip = fakeIp();
    expect(codeOf(await login(auth, user.email, 'typo', ip))).toBe('UNAUTHENTICATED');
    const changed = await change(auth, user.accessToken, user.password, ip);
    expect(codeOf(changed)).toBe('OK');
    // Two more failures are free again (the limit is 2): had the streak stayed, the second would be locked.
    expect(codeOf(await login(auth, user.email, 'typo 2', ip))).toBe('UNAUTHENTICATED');
    expect(codeOf(await login(auth, user.email, 'typo 3', ip))).toBe('UNAUTHENTICATED');
  });
});

describe('login throttling per account across addresses', () => {
  it('stops a distributed guess at a much higher count, but not at addresses the owner used before', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_EMAIL: '4' });
    const victim = await auth.registerUser();
    const home = '203.0.113.50';
    expect(codeOf(await login(auth, victim.email, victim.password, home))).toBe('OK');
    for (let i = 0; i < 4; i++)
      expect(codeOf(await login(auth, victim.email, `guess ${i}`, `198.51.100.${10 + i}`))).toBe(
        'UNAUTHENTICATED',
      );
    expectThrottled(await login(auth, victim.email, victim.password, '198.51.100.99'), 900);
    expect(codeOf(await login(auth, victim.email, victim.password, home))).toBe('OK');
  });
});

describe('successful logins', () => {
  it('are capped per account', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGINS_PER_ACCOUNT: '2' });
    const user = await auth.registerUser();
    expect(codeOf(await login(auth, user.email, user.password, fakeIp()))).toBe('OK');
    expect(codeOf(await login(auth, user.email, user.password, fakeIp()))).toBe('OK');
    expectThrottled(await login(auth, user.email, user.password, fakeIp()), 600);
  });

  it('are capped per address, whichever the accounts', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGINS_PER_IP: '2' });
    const [a, b, c] = [await auth.registerUser(), await auth.registerUser(), await auth.registerUser()];
    const ip = fakeIp();
    expect(codeOf(await login(auth, a.email, a.password, ip))).toBe('OK');
    expect(codeOf(await login(auth, b.email, b.password, ip))).toBe('OK');
    expectThrottled(await login(auth, c.email, c.password, ip), 600);
    expect(codeOf(await login(auth, c.email, c.password, '203.0.113.77'))).toBe('OK');
  });
});

describe('login throttling per client address', () => {
  it('stops one address spraying many accounts, behind a trusted proxy (X-Forwarded-For)', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_IP: '4' });
    const user = await auth.registerUser();
    const attacker = '203.0.113.7';
    for (let i = 0; i < 4; i++) {
      expect(codeOf(await login(auth, `spray-${i}-${user.id}@example.test`, 'Winter2024!', attacker))).toBe(
        'UNAUTHENTICATED',
      );
    }
    expectThrottled(await login(auth, user.email, user.password, attacker), 900);
    // Another client behind the same gateway is not affected.
    expect(codeOf(await login(auth, user.email, user.password, '203.0.113.8'))).toBe('OK');
    // The gateway appends the address it saw; a client-supplied first entry is not trusted.
    expectThrottled(await login(auth, user.email, user.password, `203.0.113.9, ${attacker}`), 900);
  });

  it('counts IPv6 clients by their /64', async () => {
    const auth = await service({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_IP: '3' });
    const user = await auth.registerUser();
    for (let i = 1; i <= 3; i++) {
      expect(
        codeOf(await login(auth, `v6-${i}-${user.id}@example.test`, 'guess', `2001:db8:7:7::${i}`)),
      ).toBe('UNAUTHENTICATED');
    }
    expectThrottled(await login(auth, user.email, user.password, '2001:db8:7:7:ffff::1'), 900);
    expect(codeOf(await login(auth, user.email, user.password, '2001:db8:7:8::1'))).toBe('OK');
  });

  it.each([
    ['TRUST_PROXY is unset', {}],
    ['the request does not come from a listed proxy', { TRUST_PROXY: '10.9.9.9,10.42.0.0/16' }],
  ])(
    'ignores X-Forwarded-For when %s, so a client cannot pick a fresh address per guess',
    async (_label, env) => {
      const auth = await service({ ...env, LOGIN_FAILURES_PER_IP: '3' });
      const user = await auth.registerUser();
      for (let i = 0; i < 3; i++) {
        expect(codeOf(await login(auth, `nobody-${i}-${user.id}@example.test`, 'guess', fakeIp()))).toBe(
          'UNAUTHENTICATED',
        );
      }
      expectThrottled(await login(auth, user.email, user.password, fakeIp()), 900);
    },
  );
});

describe('registration throttling per client address', () => {
  it('limits sign-ups per address and writes nothing for the refused one', async () => {
    const auth = await service({ REGISTRATIONS_PER_IP: '2', REGISTRATION_WINDOW_SEC: '3600' });
    const id = randomBytes(4).toString('hex');
    const register = (n: number) =>
      auth.graphql(REGISTER, {
        name: `Bulk ${n}`,
        email: `bulk-${n}-${id}@example.test`,
        password: `bulk pass ${id}`,
      });
    expect(codeOf(await register(1))).toBe('OK');
    expect(codeOf(await register(2))).toBe('OK');
    expectThrottled(await register(3), 3600);
    const rows = await auth
      .db('auth.users')
      .where({ email: `bulk-3-${id}@example.test` })
      .count({ n: '*' });
    expect(Number(rows[0]!.n)).toBe(0);
  });
});

describe('refresh throttling per client address', () => {
  it('limits failed refresh attempts per address, never a valid token from it', async () => {
    const auth = await service({ REFRESH_FAILURES_PER_IP: '2' });
    const user = await auth.registerUser();
    const unknown = () => randomBytes(32).toString('base64url');
    expect(codeOf(await auth.graphql(REFRESH, { token: unknown() }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await auth.graphql(REFRESH, { token: unknown() }))).toBe('UNAUTHENTICATED');
    expectThrottled(await auth.graphql(REFRESH, { token: unknown() }), 900);
    // Someone else behind the same address (a NAT, a proxy) with a real token is not locked out.
    const rotated = await auth.graphql(REFRESH, { token: user.refreshToken });
    expect(codeOf(rotated)).toBe('OK');
    expect((rotated.data as { refreshToken: { accessToken: string } }).refreshToken.accessToken).toEqual(
      expect.any(String),
    );
    expectThrottled(await auth.graphql(REFRESH, { token: unknown() }), 900);
  });
});
