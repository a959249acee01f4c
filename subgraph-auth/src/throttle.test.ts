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
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
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

describe('login throttling per account', () => {
  it('stops guessing after the configured failures, even with the right password, and only for that account', async () => {
    const auth = await service({ LOGIN_FAILURES_PER_EMAIL: '3', LOGIN_FAILURE_WINDOW_SEC: '600' });
    const victim = await auth.registerUser();
    const bystander = await auth.registerUser();
    for (let i = 0; i < 3; i++)
      expect(codeOf(await login(auth, victim.email, `guess ${i}`))).toBe('UNAUTHENTICATED');
    expectThrottled(await login(auth, victim.email.toUpperCase(), 'guess 4'), 600);
    expectThrottled(await login(auth, victim.email, victim.password), 600);
    expect(codeOf(await login(auth, bystander.email, bystander.password))).toBe('OK');
  });

  it('forgives a person who mistypes: a successful login clears the account’s count', async () => {
    const auth = await service({ LOGIN_FAILURES_PER_EMAIL: '3' });
    const user = await auth.registerUser();
    for (let round = 0; round < 3; round++) {
      expect(codeOf(await login(auth, user.email, 'typo one'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await login(auth, user.email, 'typo two'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await login(auth, user.email, user.password))).toBe('OK');
    }
  });

  it('counts in Postgres, so failures on one replica count on another', async () => {
    const namespace = `replicas-${randomBytes(4).toString('hex')}`;
    const env = { LOGIN_FAILURES_PER_EMAIL: '3' };
    const [a, b] = [await service(env, namespace), await service(env, namespace)];
    const user = await a.registerUser();
    expect(codeOf(await login(a, user.email, 'wrong 1'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await login(b, user.email, 'wrong 2'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await login(a, user.email, 'wrong 3'))).toBe('UNAUTHENTICATED');
    expectThrottled(await login(b, user.email, user.password), 900);
  });
});

describe('login throttling per client address', () => {
  it('stops one address spraying many accounts, behind a trusted proxy (X-Forwarded-For)', async () => {
    const auth = await service({ TRUST_PROXY: 'true', LOGIN_FAILURES_PER_IP: '4' });
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

  it('ignores X-Forwarded-For unless TRUST_PROXY is set, so a client cannot pick a fresh address per guess', async () => {
    const auth = await service({ LOGIN_FAILURES_PER_IP: '3' });
    const user = await auth.registerUser();
    for (let i = 0; i < 3; i++) {
      expect(codeOf(await login(auth, `nobody-${i}-${user.id}@example.test`, 'guess', fakeIp()))).toBe(
        'UNAUTHENTICATED',
      );
    }
    expectThrottled(await login(auth, user.email, user.password, fakeIp()), 900);
  });
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
  it('limits failed refresh attempts per address', async () => {
    const auth = await service({ REFRESH_FAILURES_PER_IP: '2' });
    const user = await auth.registerUser();
    const unknown = () => randomBytes(32).toString('base64url');
    expect(codeOf(await auth.graphql(REFRESH, { token: unknown() }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await auth.graphql(REFRESH, { token: unknown() }))).toBe('UNAUTHENTICATED');
    expectThrottled(await auth.graphql(REFRESH, { token: user.refreshToken }), 900);
  });
});
