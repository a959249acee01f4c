/**
 * deleteAccount through the gateway, with events on the Postgres transport (no AMQP_URL): the
 * account goes at once, the image subgraph deletes the images within a bound, blobs shared with
 * other users stay for them. The RabbitMQ transport: account-deletion.broker.test.ts.
 */
import { codesOf, eventually, noisePng } from '@imagehub/test-kit';
import {
  closeTestDb,
  DELETE_ACCOUNT,
  deleteAccount,
  expectImagesDeleted,
  imageCountOf,
  reasonOf,
  setUpDeletion,
  testDb,
  upload,
} from './test-support/account-deletion';
import { gql, type RunningSystem, startSystem } from './test-support/system';

/** Poll interval plus one load, with room for a loaded machine (as in accounts.test.ts). */
const REVOCATION_BOUND_MS = 5_000;

let system: RunningSystem;

beforeAll(async () => {
  system = await startSystem();
});
afterAll(async () => {
  await system?.close();
  await closeTestDb();
});

describe('deleteAccount', () => {
  it('deletes the account at once and the images within a bound; shared blobs stay for their other user', async () => {
    const scenario = await setUpDeletion(system);
    const { user, other, othersImage } = scenario;

    const deleted = await deleteAccount(system, user.accessToken, user.password);
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data).toEqual({ deleteAccount: true });

    // The account, its sessions and refresh tokens are gone in the same transaction.
    const db = testDb();
    expect(await db('auth.users').where({ id: user.id }).first()).toBeUndefined();
    expect(await db('auth.sessions').where({ user_id: user.id }).first()).toBeUndefined();

    await expectImagesDeleted(scenario);

    // Its sessions were revoked in the deleting transaction: the auth subgraph refuses its tokens at
    // once, every other verifier within its revocation poll; and its password is no login.
    const me = await gql(system.gatewayUrl, '{ me { id } }', { token: user.accessToken });
    expect(reasonOf(me)).toEqual(['UNAUTHENTICATED/SESSION_REVOKED']);
    await eventually('myImages refuses the revoked token', REVOCATION_BOUND_MS, async () => {
      const listed = await gql(system.gatewayUrl, '{ myImages { totalCount } }', { token: user.accessToken });
      return reasonOf(listed)?.[0] === 'UNAUTHENTICATED/SESSION_REVOKED';
    });
    const login = await gql(
      system.gatewayUrl,
      'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
      { variables: { email: user.email, password: user.password } },
    );
    expect(reasonOf(login)).toEqual(['UNAUTHENTICATED/BAD_CREDENTIALS']);
    const refreshed = await gql(
      system.gatewayUrl,
      'mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }',
      { variables: { t: user.refreshToken } },
    );
    expect(reasonOf(refreshed)).toEqual(['UNAUTHENTICATED/REFRESH_TOKEN_INVALID']);
    const again = await deleteAccount(system, user.accessToken, user.password);
    expect(reasonOf(again)).toEqual(['UNAUTHENTICATED/SESSION_REVOKED']);

    // The other user keeps their image, listed and whole.
    const theirs = await gql<{ myImages: { edges: { node: { id: string } }[] } }>(
      system.gatewayUrl,
      '{ myImages { edges { node { id } } } }',
      { token: other.accessToken },
    );
    expect(theirs.data?.myImages.edges.map((e) => e.node.id)).toEqual([othersImage.id]);

    // The email is free again.
    const reRegistered = await system.auth.registerUser({ email: user.email });
    expect(reRegistered.id).not.toBe(user.id);
    expect(await imageCountOf(reRegistered.id)).toBe(0);
  });

  it('refuses a wrong password with BAD_CREDENTIALS and changes nothing', async () => {
    const user = await system.auth.registerUser();
    const image = await upload(system, user.accessToken, noisePng(25, 25));
    const wrong = await deleteAccount(system, user.accessToken, `${user.password}!`);
    expect(reasonOf(wrong)).toEqual(['UNAUTHENTICATED/BAD_CREDENTIALS']);
    expect(wrong.data ?? null).toBeNull();
    const me = await gql<{ me: { id: string } }>(system.gatewayUrl, '{ me { id } }', {
      token: user.accessToken,
    });
    expect(me.data?.me.id).toBe(user.id);
    expect(await imageCountOf(user.id)).toBe(1);
    expect((await fetch(image.url)).status).toBe(200);
  });

  it('needs a token: UNAUTHENTICATED without one, and an invalid one is refused', async () => {
    const none = await deleteAccount(system, undefined, 'whatever password');
    expect(reasonOf(none)).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
    const forged = await deleteAccount(system, 'not.a.token', 'whatever password');
    expect(codesOf(forged)).toEqual(['UNAUTHENTICATED']);
    const empty = await gql(system.gatewayUrl, DELETE_ACCOUNT, { variables: {} });
    expect(codesOf(empty)).toEqual(['BAD_USER_INPUT']);
  });

  it('completes after the image subgraph was down when it was requested', async () => {
    const scenario = await setUpDeletion(system);
    await system.stopImage();
    try {
      const deleted = await deleteAccount(system, scenario.user.accessToken, scenario.user.password);
      expect(deleted.data).toEqual({ deleteAccount: true });
      // The account is gone at once; the images wait for the image subgraph (or for another replica
      // consuming the same queue: other test files' image subgraphs share this database).
      expect(await testDb()('auth.users').where({ id: scenario.user.id }).first()).toBeUndefined();
    } finally {
      await system.restartImage();
    }
    await expectImagesDeleted(scenario);
  });
});
