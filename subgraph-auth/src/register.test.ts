import { randomBytes } from 'node:crypto';
import { type StartedAuthService, startAuthService } from './test-support';

const REGISTER = `mutation Register($name: String!, $email: String!, $password: String!) {
  register(name: $name, email: $email, password: $password) {
    accessToken refreshToken tokenType expiresIn user { id name email createdAt }
  }
}`;

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth.close();
});

const unique = () => randomBytes(6).toString('hex');

describe('register', () => {
  it('creates the account, signs it in, and normalises email and name', async () => {
    const id = unique();
    const result = await auth.graphql<{
      register: Record<string, unknown> & { user: Record<string, string> };
    }>(REGISTER, {
      name: `  Ada ${id}  `,
      email: `  Ada.${id}@Example.TEST `,
      password: `lovelace engine ${id}`,
    });
    expect(result.errors).toBeUndefined();
    const payload = result.data!.register;
    expect(payload.tokenType).toBe('Bearer');
    expect(payload.expiresIn).toBe(900);
    expect(payload.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(payload.user).toMatchObject({ name: `Ada ${id}`, email: `ada.${id}@example.test` });
    expect(new Date(payload.user.createdAt!).toISOString()).toBe(payload.user.createdAt);
  });
});
