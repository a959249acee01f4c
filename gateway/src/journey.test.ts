import { type UploadedImage, uploadImage } from '@imagehub/subgraph-image/test-support';
import { noisePng } from '@imagehub/test-kit';
import { gql, type RunningSystem, startSystem } from './test-support/system';

const UPLOAD = `mutation Upload($file: Upload!) {
  uploadImage(file: $file) { id filename contentType byteSize width height sha256 url thumbnailUrl owner { id email } }
}`;

describe('the full journey through the gateway', () => {
  let system: RunningSystem;

  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(async () => {
    await system?.close();
  });

  it('registers, logs in, uploads, lists, fetches the signed URL (with 304), and deletes', async () => {
    const { gatewayUrl } = system;
    const email = `journey-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`;
    const password = 'a long and unusual passphrase 42';

    const registered = await gql<{ register: { user: { id: string; email: string } } }>(
      gatewayUrl,
      `mutation ($email: String!, $password: String!) {
        register(name: "Journey", email: $email, password: $password) { accessToken user { id email } }
      }`,
      { variables: { email, password } },
    );
    expect(registered.errors).toBeUndefined();
    const userId = registered.data!.register.user.id;

    const login = await gql<{ login: { accessToken: string; tokenType: string; user: { id: string } } }>(
      gatewayUrl,
      'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken tokenType user { id } } }',
      { variables: { email, password } },
    );
    expect(login.errors).toBeUndefined();
    expect(login.data!.login).toMatchObject({ tokenType: 'Bearer', user: { id: userId } });
    const token = login.data!.login.accessToken;

    const png = noisePng(40, 30);
    const uploaded = await uploadImage<{ uploadImage: UploadedImage }>(
      gatewayUrl,
      token,
      png,
      'holiday.png',
      {
        query: UPLOAD,
        declaredType: 'image/png',
      },
    );
    expect(uploaded.errors).toBeUndefined();
    const image = uploaded.data!.uploadImage;
    expect(image).toMatchObject({
      filename: 'holiday.png',
      contentType: 'image/png',
      width: 40,
      height: 30,
      owner: { id: userId, email },
    });
    expect(image.url.startsWith(`${gatewayUrl}/images/`)).toBe(true);

    const listed = await gql<{ myImages: { totalCount: number; edges: { node: { id: string } }[] } }>(
      gatewayUrl,
      '{ myImages(first: 10) { totalCount edges { node { id } } } }',
      { token },
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.myImages.totalCount).toBe(1);
    expect(listed.data!.myImages.edges.map((e) => e.node.id)).toEqual([image.id]);

    // The signed URL works through the gateway alone, without an Authorization header.
    const bytes = await fetch(image.url);
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get('content-type')).toBe('image/png');
    expect(bytes.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(bytes.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = bytes.headers.get('etag');
    expect(etag).toBe(`"${image.sha256}"`);
    const body = Buffer.from(await bytes.arrayBuffer());
    expect(body.length).toBe(image.byteSize);

    const revalidated = await fetch(image.url, { headers: { 'if-none-match': etag! } });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe('');

    const thumbnail = await fetch(image.thumbnailUrl);
    expect(thumbnail.status).toBe(200);
    await thumbnail.arrayBuffer();

    const tampered = await fetch(image.url.replace(/sig=[^&]+/, 'sig=AAAA'));
    expect(tampered.status).toBe(403);
    await tampered.text();

    const deleted = await gql<{ deleteImage: boolean }>(
      gatewayUrl,
      'mutation ($id: ID!) { deleteImage(id: $id) }',
      { token, variables: { id: image.id } },
    );
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data!.deleteImage).toBe(true);

    const gone = await fetch(image.url);
    expect(gone.status).toBe(404);
    await gone.text();
    // Paths no image route serves are the image subgraph's JSON 404, not an HTML "Cannot GET" page.
    for (const path of [`/images/${image.id}/original/x`, '/images/x/y/z']) {
      const stray = await fetch(`${gatewayUrl}${path}`);
      expect([path, stray.status, stray.headers.get('content-type')]).toEqual([
        path,
        404,
        'application/json; charset=utf-8',
      ]);
      expect(
        ((await stray.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
      ).toBe('NOT_FOUND');
    }
    const again = await gql(gatewayUrl, 'mutation ($id: ID!) { deleteImage(id: $id) }', {
      token,
      variables: { id: image.id },
    });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('resolves me → images → owner across both subgraphs', async () => {
    const user = await system.auth.registerUser();
    for (const [index, name] of ['a.png', 'b.png'].entries()) {
      const result = await uploadImage(system.gatewayUrl, user.accessToken, noisePng(20 + index, 20), name);
      expect(result.errors).toBeUndefined();
    }
    const result = await gql<{
      me: {
        id: string;
        email: string;
        images: {
          totalCount: number;
          edges: { node: { filename: string; owner: { email: string; name: string } } }[];
        };
      };
    }>(
      system.gatewayUrl,
      '{ me { id email images(first: 5) { totalCount edges { node { filename owner { email name } } } } } }',
      { token: user.accessToken },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.me.images.totalCount).toBe(2);
    expect(result.data!.me.images.edges.map((e) => e.node)).toEqual([
      { filename: 'b.png', owner: { email: user.email, name: user.name } },
      { filename: 'a.png', owner: { email: user.email, name: user.name } },
    ]);
  });
});
