import { randomBytes } from 'node:crypto';
import { type StartedAuthService, startAuthService } from './test-support';

const REGISTER = `mutation Register($name: String!, $email: String!, $password: String!) {
  register(name: $name, email: $email, password: $password) {
    accessToken refreshToken tokenType expiresIn user { id name email createdAt }
  }
}`;

interface Payload {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: { id: string; name: string; email: string; createdAt: string };
}

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth.close();
});

const unique = () => randomBytes(6).toString('hex');
const register = (variables: { name: string; email: string; password: string }) =>
  auth.graphql<{ register: Payload }>(REGISTER, variables);
const usersWithEmail = async (email: string) =>
  Number((await auth.db('auth.users').whereRaw('lower(email) = lower(?)', [email]).count({ n: '*' }))[0]!.n);

describe('register', () => {
  it('creates the account, signs it in, and normalises email and name', async () => {
    const id = unique();
    const result = await register({
      name: `  Ada ${id}  `,
      email: `  Ada.${id}@Example.TEST `,
      password: `lovelace engine ${id}`,
    });
    expect(result.errors).toBeUndefined();
    const payload = result.data!.register;
    expect(payload.tokenType).toBe('Bearer');
    expect(payload.expiresIn).toBe(900);
    expect(payload.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(payload.accessToken.split('.')).toHaveLength(3);
    expect(payload.user).toMatchObject({ name: `Ada ${id}`, email: `ada.${id}@example.test` });
    expect(new Date(payload.user.createdAt).toISOString()).toBe(payload.user.createdAt);

    const row = await auth.db('auth.users').where({ id: payload.user.id }).first();
    expect(row.email).toBe(`ada.${id}@example.test`);
    // bcrypt at the configured cost, never the password itself.
    expect(row.password_hash).toMatch(/^\$2b\$10\$/);
    expect(row.password_hash).not.toContain(`lovelace engine ${id}`);
  });

  it('refuses an email that exists in another letter case (BAD_USER_INPUT, field "email")', async () => {
    const id = unique();
    expect(
      (await register({ name: 'A', email: `dup.${id}@example.test`, password: `first pass ${id}` })).errors,
    ).toBeUndefined();
    const again = await register({
      name: 'B',
      email: `DUP.${id}@EXAMPLE.test`,
      password: `second pass ${id}`,
    });
    expect(again.data).toBeNull();
    expect(again.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    expect(await usersWithEmail(`dup.${id}@example.test`)).toBe(1);
  });

  it('lets exactly one of several simultaneous registrations of one email win (unique index, no 500)', async () => {
    const id = unique();
    const results = await Promise.all(
      ['race', 'RACE', 'Race', 'rAcE'].map((local, i) =>
        register({
          name: `Racer ${i}`,
          email: `${local}.${id}@example.test`,
          password: `racing pass ${id} ${i}`,
        }),
      ),
    );
    const winners = results.filter((r) => r.data?.register);
    const losers = results.filter((r) => r.errors);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(3);
    for (const loser of losers) {
      expect(loser.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    }
    expect(await usersWithEmail(`race.${id}@example.test`)).toBe(1);
  });

  it.each([
    ['a short password', { password: 'short1!' }, 'password'],
    ['a 73-byte password (multibyte)', { password: `${'€'.repeat(24)}x` }, 'password'],
    ['a common password', { password: 'Password123' }, 'password'],
    ['the email as password', { password: 'EMAIL' }, 'password'],
    ['the name as password', { password: 'NAME' }, 'password'],
    ['an invalid email', { email: 'not-an-email' }, 'email'],
    ['an SQL-looking email', { email: "x' OR '1'='1" }, 'email'],
    ['an empty name', { name: '   ' }, 'name'],
    ['a 101-character name', { name: 'n'.repeat(101) }, 'name'],
    ['a very long name', { name: 'n'.repeat(50_000) }, 'name'],
    ['a very long email', { email: `${'e'.repeat(50_000)}@example.test` }, 'email'],
    ['a very long password', { password: 'p'.repeat(50_000) }, 'password'],
  ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_label, change, field) => {
    const id = unique();
    const valid = {
      name: `Valid Name ${id}`,
      email: `valid.${id}@example.test`,
      password: `valid pass ${id}`,
    };
    const input = { ...valid, ...change };
    if (input.password === 'EMAIL') input.password = valid.email.toUpperCase();
    if (input.password === 'NAME') input.password = valid.name.toLowerCase();
    const result = await register(input);
    expect(result.status).toBe(200);
    expect(result.data).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    expect(await usersWithEmail(valid.email)).toBe(0);
  });

  it('stores SQL-looking names verbatim: they are data, never SQL', async () => {
    const id = unique();
    const name = `Robert'); DROP TABLE auth.users;-- ${id}`;
    const result = await register({ name, email: `bobby.${id}@example.test`, password: `tables ${id}` });
    expect(result.errors).toBeUndefined();
    expect(result.data!.register.user.name).toBe(name);
    expect(
      await auth
        .db('auth.users')
        .where({ email: `bobby.${id}@example.test` })
        .first('name'),
    ).toEqual({ name });
  });

  it('answers a non-string argument with BAD_USER_INPUT, not a 500', async () => {
    const result = await auth.graphql(REGISTER, { name: 'N', email: 'e@example.test', password: 12345678 });
    expect(result.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });
});
