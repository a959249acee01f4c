import { generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { makeJpeg } from './test-images';
import {
  createTestTokens,
  graphql,
  type RunningImageService,
  startImageService,
  TEST_AUDIENCE,
  TEST_ISSUER,
  uploadImage,
} from './test-support';

const tokens = createTestTokens();
const alice = randomUUID();
const mallory = randomUUID();
const aliceToken = tokens.mint(alice);
const malloryToken = tokens.mint(mallory);
let service: RunningImageService;
let aliceImage: { id: string; url: string; thumbnailUrl: string };

const IMAGE_QUERY = 'query($id: ID!) { image(id: $id) { id filename } }';
const DELETE = 'mutation($id: ID!) { deleteImage(id: $id) }';
const MY_IMAGES = '{ myImages { totalCount edges { node { id } } } }';
const ENTITY_IMAGE = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Image { id filename owner { id } } } }`;
const ENTITY_USER_IMAGES = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id images { totalCount edges { node { id } } } } } }`;

beforeAll(async () => {
  service = await startImageService({ publicKeys: tokens.jwks });
  await service.createUser(alice);
  await service.createUser(mallory);
  const result = await uploadImage<{ uploadImage: typeof aliceImage }>(
    service.url,
    aliceToken,
    await makeJpeg(40, 30, 61),
    'alice.jpg',
    { query: 'mutation($file: Upload!) { uploadImage(file: $file) { id url thumbnailUrl } }' },
  );
  expect(result.errors).toBeUndefined();
  aliceImage = result.data!.uploadImage;
});

afterAll(() => service?.close());

describe("another user's image", () => {
  it('is null through image(id), exactly like an id that does not exist', async () => {
    const theirs = await graphql(service.url, IMAGE_QUERY, { id: aliceImage.id }, malloryToken);
    const absent = await graphql(service.url, IMAGE_QUERY, { id: randomUUID() }, malloryToken);
    const answer = ({ status, data, errors }: typeof theirs) => ({ status, data, errors });
    expect(answer(theirs)).toEqual({ status: 200, data: { image: null } });
    expect(answer(absent)).toEqual({ status: 200, data: { image: null } });
    const own = await graphql(service.url, IMAGE_QUERY, { id: aliceImage.id }, aliceToken);
    expect(own.data).toEqual({ image: { id: aliceImage.id, filename: 'alice.jpg' } });
  });

  it('cannot be deleted (NOT_FOUND, as for an absent id) and survives the attempt', async () => {
    const theirs = await graphql(service.url, DELETE, { id: aliceImage.id }, malloryToken);
    const absent = await graphql(service.url, DELETE, { id: randomUUID() }, malloryToken);
    expect(theirs.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(absent.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(theirs.errors?.[0]?.message).toBe(absent.errors?.[0]?.message);
    expect((await fetch(aliceImage.url)).status).toBe(200);
  });

  it('is not in their myImages', async () => {
    const result = await graphql(service.url, MY_IMAGES, {}, malloryToken);
    expect(result.data).toEqual({ myImages: { totalCount: 0, edges: [] } });
  });

  it('resolves to null as a federation entity (Image.__resolveReference)', async () => {
    const reps = [{ __typename: 'Image', id: aliceImage.id }];
    const theirs = await graphql(service.url, ENTITY_IMAGE, { reps }, malloryToken);
    expect(theirs.data).toEqual({ _entities: [null] });
    const own = await graphql(service.url, ENTITY_IMAGE, { reps }, aliceToken);
    expect(own.data).toEqual({
      _entities: [{ id: aliceImage.id, filename: 'alice.jpg', owner: { id: alice } }],
    });
  });

  it("makes User.images of someone else FORBIDDEN, and one's own readable", async () => {
    const reps = [{ __typename: 'User', id: alice }];
    const theirs = await graphql(service.url, ENTITY_USER_IMAGES, { reps }, malloryToken);
    expect(theirs.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = await graphql<{ _entities: { images: { totalCount: number } }[] }>(
      service.url,
      ENTITY_USER_IMAGES,
      { reps },
      aliceToken,
    );
    expect(own.errors).toBeUndefined();
    expect(own.data!._entities[0]!.images.totalCount).toBe(1);
  });

  it('is served only through its signed URL, which names one image and variant', async () => {
    const original = new URL(aliceImage.url);
    const otherId = new URL(aliceImage.url.replace(aliceImage.id, randomUUID()));
    expect((await fetch(otherId)).status).toBe(403);
    const otherVariant = new URL(aliceImage.url.replace('/original?', '/thumbnail?'));
    expect((await fetch(otherVariant)).status).toBe(403);
    expect((await fetch(`${service.url}${original.pathname}`)).status).toBe(403);
  });
});

describe('ids that are not uuids', () => {
  it.each([
    ['a word', 'not-a-uuid'],
    ['an injection attempt', "1' or '1'='1"],
    ['empty', ''],
    ['5000 characters', 'x'.repeat(5000)],
  ])('are simply not found: %s', async (_label, id) => {
    expect((await graphql(service.url, IMAGE_QUERY, { id }, aliceToken)).data).toEqual({ image: null });
    const deleted = await graphql(service.url, DELETE, { id }, aliceToken);
    expect(deleted.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const entity = await graphql(
      service.url,
      ENTITY_IMAGE,
      { reps: [{ __typename: 'Image', id }] },
      aliceToken,
    );
    expect(entity.data).toEqual({ _entities: [null] });
  });

  it('give 404 on the image route even with a valid signature', async () => {
    const url = service.server.services.signer.url('not-a-uuid', 'original');
    const response = await fetch(url.replace(service.config.publicUrl, service.url));
    expect(response.status).toBe(404);
  });
});

describe('authentication', () => {
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const kid = tokens.jwks[0]!.kid!;
  const badTokens: [string, string | undefined][] = [
    ['no token', undefined],
    ['garbage', 'not.a.token'],
    ['an expired token', tokens.mint(alice, {}, { expiresIn: -60 })],
    ['a token for another audience', tokens.mint(alice, {}, { audience: 'someone-else' })],
    ['a token from another issuer', tokens.mint(alice, {}, { issuer: 'evil' })],
    [
      'a token signed by an unknown key under a known kid',
      jwt.sign({ sub: alice }, otherKey, {
        algorithm: 'ES256',
        keyid: kid,
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        expiresIn: '5m',
      }),
    ],
    [
      'an HS256 token (algorithm not pinned would accept it)',
      jwt.sign({ sub: alice }, 'secret', {
        algorithm: 'HS256',
        keyid: kid,
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        expiresIn: '5m',
      }),
    ],
  ];

  it.each(badTokens)('%s gets UNAUTHENTICATED on every operation', async (_label, token) => {
    const operations: [string, Record<string, unknown>][] = [
      [IMAGE_QUERY, { id: aliceImage.id }],
      [MY_IMAGES, {}],
      [DELETE, { id: aliceImage.id }],
      [ENTITY_IMAGE, { reps: [{ __typename: 'Image', id: aliceImage.id }] }],
      [ENTITY_USER_IMAGES, { reps: [{ __typename: 'User', id: alice }] }],
    ];
    for (const [query, variables] of operations) {
      const result = await graphql(service.url, query, variables, token);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(result.data ?? null)).not.toContain('alice.jpg');
    }
    expect((await fetch(aliceImage.url)).status).toBe(200);
  });
});
