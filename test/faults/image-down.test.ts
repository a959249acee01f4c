/**
 * The image subgraph is killed (SIGKILL, no goodbye). Through the gateway, logins and `me { id name }`
 * keep working and image fields fail with coded errors, quickly. Started again on the same port, it
 * is picked up by the same gateway process.
 */
import { codesOf, eventually } from '@imagehub/test-kit';
import { uniquePng } from '../support/images';
import { type AuthSession, System } from '../support/system';

let sys: System;
let user: AuthSession;

beforeAll(async () => {
  sys = await System.start({ database: 'embedded' });
  user = await sys.register();
  await sys.uploadOk(await uniquePng(), user.accessToken);
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

/** A fresh deadline per request: none may hang. */
const bounded = () => ({ signal: AbortSignal.timeout(10_000) });

test('image subgraph killed: auth keeps working, image fields are coded errors, and it is picked up again', async () => {
  const gatewayPid = sys.pid('gateway');
  const killed = await sys.signal('subgraph-image', 'SIGKILL');
  expect(killed.signal).toBe('SIGKILL');

  const login = await sys.login(user.email, user.password);
  expect(login.userId).toBe(user.userId);

  const me = await sys.gql('{ me { id name } }', {}, login.accessToken, bounded());
  expect(me.errors).toBeUndefined();
  expect(me.data).toEqual({ me: { id: user.userId, name: 'Test User' } });

  const refreshed = await sys.refresh(login.refreshToken);
  expect(codesOf(refreshed)).toEqual([]);

  const imageFields = [
    '{ myImages { totalCount } }',
    '{ me { id images { totalCount } } }',
    'query($id: ID!) { image(id: $id) { id } }',
  ];
  for (const query of imageFields) {
    const result = await sys.gql(
      query,
      { id: '00000000-0000-4000-8000-000000000000' },
      login.accessToken,
      bounded(),
    );
    expect(result.status).toBeLessThan(500);
    expect(codesOf(result).length).toBeGreaterThan(0);
    for (const code of codesOf(result)) expect(code).toBe('SERVICE_UNAVAILABLE');
  }
  const upload = await sys.upload(await uniquePng(), login.accessToken, {
    signal: AbortSignal.timeout(10_000),
  });
  expect(codesOf(upload)).toEqual(['SERVICE_UNAVAILABLE']);

  // A mixed query keeps the auth half.
  const mixed = await sys.gql('{ me { id name images { totalCount } } }', {}, login.accessToken, {
    signal: AbortSignal.timeout(10_000),
  });
  expect(codesOf(mixed)).toEqual(['SERVICE_UNAVAILABLE']);

  const readyWhileDown = await fetch(`${sys.url('gateway')}/readyz`, bounded());
  expect(readyWhileDown.status).toBe(503);

  await sys.startService('subgraph-image', { waitFor: 'ready' });
  await eventually('image fields through the gateway again', 20_000, async () => {
    const result = await sys.gql('{ me { id images { totalCount } } }', {}, login.accessToken);
    return (
      codesOf(result).length === 0 &&
      (result.data as { me: { images: { totalCount: number } } }).me.images.totalCount === 1
    );
  });
  const again = await sys.uploadOk(await uniquePng(), login.accessToken);
  expect(again.id).toBeTruthy();
  await eventually(
    'gateway ready again',
    10_000,
    async () => (await fetch(`${sys.url('gateway')}/readyz`)).status === 200,
  );
  expect(sys.pid('gateway')).toBe(gatewayPid);
  expect(await sys.storageProblems()).toEqual([]);
});
