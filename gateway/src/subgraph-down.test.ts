import { uploadImage } from '@imagehub/subgraph-image/test-support';
import { noisePng } from '@imagehub/test-kit';
import { gql, type RunningSystem, startSystem } from './test-support/system';

describe('when a subgraph goes down', () => {
  let system: RunningSystem;

  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(async () => {
    await system?.close();
  });

  it('keeps serving the other subgraph, answers coded errors, and recovers without a restart', async () => {
    const user = await system.auth.registerUser();
    const uploaded = await uploadImage(system.gatewayUrl, user.accessToken, noisePng(12, 12), 'kept.png');
    expect(uploaded.errors).toBeUndefined();
    expect((await fetch(`${system.gatewayUrl}/readyz`)).status).toBe(200);

    await system.stopImage();

    const me = await gql<{ me: { id: string; name: string } }>(system.gatewayUrl, '{ me { id name } }', {
      token: user.accessToken,
    });
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toEqual({ id: user.id, name: user.name });

    const login = await gql<{ login: { user: { id: string } } }>(
      system.gatewayUrl,
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { user { id } } }',
      { variables: { e: user.email, p: user.password } },
    );
    expect(login.data!.login.user.id).toBe(user.id);

    const images = await gql(system.gatewayUrl, '{ myImages { totalCount } }', { token: user.accessToken });
    expect(images.status).toBe(200);
    expect(images.data ?? null).toBeNull();
    expect(images.errors?.[0]?.extensions).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      serviceName: 'image',
    });
    expect(images.errors?.[0]?.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);

    const bytes = await fetch(`${system.gatewayUrl}/images/00000000-0000-0000-0000-000000000000/original`);
    expect(bytes.status).toBe(503);
    await bytes.text();
    expect((await fetch(`${system.gatewayUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${system.gatewayUrl}/healthz`)).status).toBe(200);

    await system.restartImage();

    const recovered = await gql<{ myImages: { totalCount: number } }>(
      system.gatewayUrl,
      '{ myImages { totalCount } }',
      { token: user.accessToken },
    );
    expect(recovered.errors).toBeUndefined();
    expect(recovered.data!.myImages.totalCount).toBe(1);
    expect((await fetch(`${system.gatewayUrl}/readyz`)).status).toBe(200);
  });
});
