import bcrypt from 'bcrypt';
import { type StartedAuthService, startAuthService } from './test-support';

const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken tokenType expiresIn user { id email name } }
}`;

interface Payload {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email: string; name: string };
}

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth.close();
});
afterEach(() => {
  jest.restoreAllMocks();
});

const login = (email: string, password: string) =>
  auth.graphql<{ login: Payload }>(LOGIN, { email, password });

describe('login', () => {
  it('signs in with the right password, whatever the email letter case and surrounding spaces', async () => {
    const user = await auth.registerUser();
    const result = await login(`  ${user.email.toUpperCase()} `, user.password);
    expect(result.errors).toBeUndefined();
    expect(result.data!.login.user).toMatchObject({ id: user.id, email: user.email });
    expect(result.data!.login.refreshToken).not.toBe(user.refreshToken);
  });

  it('gives the same UNAUTHENTICATED error for a wrong password and an unknown email', async () => {
    const user = await auth.registerUser();
    const wrongPassword = await login(user.email, `${user.password}!`);
    const unknownEmail = await login(`nobody-${user.id}@example.test`, user.password);
    expect(wrongPassword.data).toBeNull();
    expect(unknownEmail.data).toBeNull();
    expect(wrongPassword.errors).toEqual(unknownEmail.errors);
    expect(wrongPassword.errors![0]).toMatchObject({
      message: 'Invalid email or password',
      extensions: { code: 'UNAUTHENTICATED', reason: 'BAD_CREDENTIALS' },
    });
  });

  it('pays one bcrypt comparison for an unknown email, as for a known one', async () => {
    const user = await auth.registerUser();
    const compare = jest.spyOn(bcrypt, 'compare');
    await login(`unknown-${user.id}@example.test`, user.password);
    expect(compare).toHaveBeenCalledTimes(1);
    await login(user.email, 'a wrong password');
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('refuses a password over 72 bytes before bcrypt, even when its first 72 bytes are right', async () => {
    const password = `${'€'.repeat(23)}abc`; // 72 bytes
    const user = await auth.registerUser({ password });
    const compare = jest.spyOn(bcrypt, 'compare');
    const result = await login(user.email, `${password}x`);
    expect(result.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'password' });
    expect(compare).not.toHaveBeenCalled();
    expect((await login(user.email, password)).errors).toBeUndefined();
  });

  it.each([
    ['an SQL-looking email', "' OR '1'='1' --", 'whatever1'],
    ['an SQL-looking password', 'someone@example.test', "' OR '1'='1' --"],
    ['an empty password', 'someone@example.test', ''],
  ])('answers %s with UNAUTHENTICATED', async (_label, email, password) => {
    const result = await login(email, password);
    expect(result.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'BAD_CREDENTIALS' });
  });

  it.each([
    ['email', 'e'.repeat(60_000), 'password1'],
    ['password', 'someone@example.test', 'p'.repeat(60_000)],
  ])('answers a very long %s with BAD_USER_INPUT', async (field, email, password) => {
    const result = await login(email, password);
    expect(result.status).toBe(200);
    expect(result.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
  });

  it('opens a separate session per login', async () => {
    const user = await auth.registerUser();
    await login(user.email, user.password);
    await login(user.email, user.password);
    const sessions = await auth.db('auth.sessions').where({ user_id: user.id }).count({ n: '*' });
    expect(Number(sessions[0]!.n)).toBe(3);
  });
});
