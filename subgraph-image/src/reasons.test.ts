/** Every UNAUTHENTICATED the image subgraph answers says why (extensions.reason), as JSON and as multipart. */
import { randomUUID } from 'node:crypto';
import { UNAUTHENTICATED_MESSAGES, type UnauthenticatedReason } from '@imagehub/service-kit';
import { makeJpeg } from './test-images';
import {
  createTestTokens,
  type GraphQLResult,
  graphql,
  type RunningImageService,
  startImageService,
  uploadImage,
} from './test-support';

const tokens = createTestTokens();
let userId: string;
let image: RunningImageService;
let jpeg: Buffer;

beforeAll(async () => {
  image = await startImageService({ publicKeys: tokens.jwks });
  userId = await image.createUser();
  jpeg = await makeJpeg(32, 24);
});
afterAll(async () => {
  await image.close();
});

function expectReason(result: GraphQLResult, reason: UnauthenticatedReason) {
  expect(result.errors).toEqual([
    expect.objectContaining({
      message: UNAUTHENTICATED_MESSAGES[reason],
      extensions: { code: 'UNAUTHENTICATED', reason },
    }),
  ]);
}

const myImages = (headers: Record<string, string>) =>
  fetch(`${image.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: '{ myImages { totalCount } }' }),
  }).then(async (response) => (await response.json()) as GraphQLResult);

const expired = () => tokens.mint(userId, { iat: Math.floor(Date.now() / 1000) - 1200 }, { expiresIn: -600 });

describe('UNAUTHENTICATED reasons at the image subgraph', () => {
  it('TOKEN_MISSING: a query and an upload without Authorization', async () => {
    expectReason(await myImages({}), 'TOKEN_MISSING');
    expectReason(await uploadImage(image.url, undefined, jpeg, 'a.jpg'), 'TOKEN_MISSING');
  });

  it('TOKEN_INVALID: not a bearer JWT, or a JWT signed with a key the service does not trust', async () => {
    expectReason(await myImages({ authorization: 'Token abc' }), 'TOKEN_INVALID');
    const foreign = createTestTokens().mint(userId);
    expectReason(await myImages({ authorization: `Bearer ${foreign}` }), 'TOKEN_INVALID');
    expectReason(await uploadImage(image.url, foreign, jpeg, 'a.jpg'), 'TOKEN_INVALID');
  });

  it('TOKEN_INVALID: an upload or a listing with a genuine token whose account no longer exists (or never did)', async () => {
    expectReason(await uploadImage(image.url, tokens.mint(randomUUID()), jpeg, 'a.jpg'), 'TOKEN_INVALID');
    expectReason(await myImages({ authorization: `Bearer ${tokens.mint(randomUUID())}` }), 'TOKEN_INVALID');
  });

  it('TOKEN_EXPIRED: a genuine token past its exp, for a query and an upload', async () => {
    expectReason(await myImages({ authorization: `Bearer ${expired()}` }), 'TOKEN_EXPIRED');
    expectReason(await uploadImage(image.url, expired(), jpeg, 'a.jpg'), 'TOKEN_EXPIRED');
    // And the live token works, so the refusal was about the expiry alone.
    expect(
      (await graphql(image.url, '{ myImages { totalCount } }', {}, tokens.mint(userId))).errors,
    ).toBeUndefined();
  });
});
