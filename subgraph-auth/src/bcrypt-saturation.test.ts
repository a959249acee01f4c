import { type StartedAuthService, startAuthService } from './test-support';

const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken }
}`;

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService({
    env: { BCRYPT_CONCURRENCY: '1', BCRYPT_MAX_QUEUE: '1', BCRYPT_QUEUE_TIMEOUT_MS: '5' },
  });
});
afterAll(async () => {
  await auth.close();
});

describe('bcrypt saturation', () => {
  it('answers TOO_MANY_REQUESTS with retryAfter instead of queueing logins for long', async () => {
    const user = await auth.registerUser();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => auth.graphql(LOGIN, { email: user.email, password: user.password })),
    );
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code ?? 'OK');
    expect(codes).toContain('OK');
    expect(codes).toContain('TOO_MANY_REQUESTS');
    expect(codes.filter((c) => c !== 'OK' && c !== 'TOO_MANY_REQUESTS')).toEqual([]);
    for (const result of results.filter((r) => r.errors)) {
      expect(result.errors![0]!.extensions!.retryAfter).toBeGreaterThanOrEqual(1);
    }
  });

  it('does not count a refused attempt against the account', async () => {
    const strict = await startAuthService({
      env: {
        BCRYPT_CONCURRENCY: '1',
        BCRYPT_MAX_QUEUE: '0',
        BCRYPT_QUEUE_TIMEOUT_MS: '5',
        LOGIN_FAILURES_PER_EMAIL: '3',
      },
    });
    try {
      const user = await strict.registerUser();
      // As many wrong guesses as the account allows, all at once: with one bcrypt slot and no queue,
      // some are refused for load. Only the ones that really compared a password may count.
      const results = await Promise.all(
        Array.from({ length: 3 }, () =>
          strict.graphql(LOGIN, { email: user.email, password: 'wrong password' }),
        ),
      );
      const codes = results.map((r) => r.errors?.[0]?.extensions?.code);
      expect(codes).toContain('TOO_MANY_REQUESTS');
      expect(codes).toContain('UNAUTHENTICATED');
      // Had the refused attempts counted, the account would now be at its limit of 3 and this would be throttled.
      const again = await strict.graphql(LOGIN, { email: user.email, password: user.password });
      expect(again.errors).toBeUndefined();
    } finally {
      await strict.close();
    }
  });
});
