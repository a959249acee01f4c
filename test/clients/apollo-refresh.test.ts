/**
 * The refresh-and-retry example of docs/apollo-client.md (docs/examples/apollo-refresh.ts), with
 * Apollo Client 4, against the real gateway and subgraphs, with access tokens that live one second.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gql as parse } from '@apollo/client';
import { createImagehubClient, type Session } from '../../docs/examples/apollo-refresh';
import { gql, type RunningSystem, startSystem } from '../../gateway/src/test-support/system';

const ME = parse('query Me { me { id email } }');

let system: RunningSystem;
beforeAll(async () => {
  system = await startSystem({ authEnv: { ACCESS_TOKEN_TTL: '1' } });
});
afterAll(async () => {
  await system.close();
});

/** A session store that remembers every change, as an app's storage would see them. */
function memorySession(initial: Session) {
  let current: Session | undefined = initial;
  const changes: (Session | undefined)[] = [];
  return {
    changes,
    get: () => current,
    set: (next: Session | undefined) => {
      current = next;
      changes.push(next);
    },
  };
}

async function signIn(): Promise<Session & { email: string }> {
  const email = `apollo-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const result = await gql<{ register: Session }>(
    system.gatewayUrl,
    'mutation($e: String!) { register(name: "Apollo", email: $e, password: "correct horse battery staple") { accessToken refreshToken } }',
    { variables: { e: email } },
  );
  return { ...result.data!.register, email };
}

/** Waits until the gateway itself calls the token expired (TTL 1 s plus the verifiers' 5 s clock tolerance). */
async function untilExpired(accessToken: string) {
  for (let i = 0; i < 60; i++) {
    const result = await gql(system.gatewayUrl, '{ me { id } }', { token: accessToken });
    if (result.errors?.[0]?.extensions?.reason === 'TOKEN_EXPIRED') return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the access token did not expire');
}

it('refreshes once on TOKEN_EXPIRED and retries, for several operations in flight at once', async () => {
  const user = await signIn();
  const session = memorySession(user);
  const loginRequired: string[] = [];
  const client = createImagehubClient({
    uri: `${system.gatewayUrl}/graphql`,
    session,
    onLoginRequired: (reason) => loginRequired.push(reason),
  });

  expect((await client.query({ query: ME })).data).toEqual({
    me: { __typename: 'User', id: expect.any(String), email: user.email },
  });
  await untilExpired(user.accessToken);

  // Three different operations (Apollo would merge identical ones into one request), at both subgraphs.
  const [me, id, images] = await Promise.all([
    client.query<{ me: { email: string } }>({ query: ME, fetchPolicy: 'network-only' }),
    client.query({ query: parse('query MyId { me { id } }'), fetchPolicy: 'network-only' }),
    client.query({ query: parse('query Count { myImages { totalCount } }'), fetchPolicy: 'network-only' }),
  ]);
  expect(me.data?.me.email).toBe(user.email);
  expect(id.data).toEqual({ me: { __typename: 'User', id: expect.any(String) } });
  expect(images.data).toEqual({ myImages: { __typename: 'ImageConnection', totalCount: 0 } });
  // One refresh for all three: the refresh token was rotated exactly once, and the session lives on.
  expect(session.changes).toHaveLength(1);
  expect(session.get()!.refreshToken).not.toBe(user.refreshToken);
  expect(loginRequired).toEqual([]);
});

it('sends the user to log in on the other reasons, and when the refresh itself is refused', async () => {
  const user = await signIn();

  const forged = memorySession({ ...user, accessToken: `${user.accessToken.slice(0, -4)}AAAA` });
  const forgedReasons: string[] = [];
  const withForged = createImagehubClient({
    uri: `${system.gatewayUrl}/graphql`,
    session: forged,
    onLoginRequired: (reason) => forgedReasons.push(reason),
  });
  await expect(withForged.query({ query: ME })).rejects.toThrow();
  expect(forgedReasons).toEqual(['TOKEN_INVALID']);
  expect(forged.changes).toEqual([]);

  // Logged out elsewhere: the refresh token is revoked, so the expired access token cannot be renewed.
  await gql(system.gatewayUrl, 'mutation($t: String!) { logout(refreshToken: $t) }', {
    variables: { t: user.refreshToken },
  });
  await untilExpired(user.accessToken);
  const revoked = memorySession(user);
  const revokedReasons: string[] = [];
  const withRevoked = createImagehubClient({
    uri: `${system.gatewayUrl}/graphql`,
    session: revoked,
    onLoginRequired: (reason) => revokedReasons.push(reason),
  });
  await expect(withRevoked.query({ query: ME })).rejects.toThrow();
  expect(revokedReasons).toEqual(['REFRESH_TOKEN_INVALID']);
  expect(revoked.get()).toBeUndefined();
});

it('is the code docs/apollo-client.md shows', () => {
  const doc = readFileSync(path.resolve(__dirname, '../../docs/apollo-client.md'), 'utf8');
  const shown = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  const file = readFileSync(path.resolve(__dirname, '../../docs/examples/apollo-refresh.ts'), 'utf8');
  expect(shown).toBe(file);
});
