import { randomBytes } from 'node:crypto';
import {
  type GraphQLResult,
  multipartUpload,
  noisePng,
  postGraphQL,
  readGraphQLResult,
} from '@imagehub/test-kit';
import { BENCH_UPLOAD_MUTATION } from './load/job';

export interface SeededUser {
  email: string;
  password: string;
  accessToken: string;
}

export interface SeededImage {
  /** Path and query of the signed URL, relative to the gateway. */
  path: string;
  etag: string;
}

/**
 * Retries while the server sheds load (TOO_MANY_REQUESTS): seeding runs faster than bcrypt, and on
 * a busy machine much faster. Gives up after two minutes of shedding, backing off up to 2 s.
 */
async function withRetry<T>(what: string, call: () => Promise<GraphQLResult<T>>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (let attempt = 0; ; attempt++) {
    const result = await call();
    if (result.data && !result.errors) return result.data;
    const shed = result.errors?.some((e) => e.extensions?.code === 'TOO_MANY_REQUESTS');
    if (!shed) throw new Error(`${what} failed: ${JSON.stringify(result.errors)}`);
    if (Date.now() > deadline)
      throw new Error(`${what}: still shed after two minutes (${attempt + 1} attempts)`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 2_000)));
  }
}

async function inParallel<T>(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

const REGISTER = `mutation($name: String!, $email: String!, $password: String!) {
  register(name: $name, email: $email, password: $password) { accessToken }
}`;

export async function seedUsers(gatewayUrl: string, count: number): Promise<SeededUser[]> {
  const run = randomBytes(4).toString('hex');
  return inParallel(count, 8, async (i) => {
    const email = `bench-${run}-${i}@example.com`;
    const password = `bench-${randomBytes(12).toString('base64url')}`;
    const data = await withRetry('register', () =>
      postGraphQL<{ register: { accessToken: string } }>(`${gatewayUrl}/graphql`, REGISTER, {
        variables: { name: `Bench User ${i}`, email, password },
      }),
    );
    return { email, password, accessToken: data.register.accessToken };
  });
}

export async function uploadThroughGateway(
  gatewayUrl: string,
  token: string,
  file: Buffer,
  filename: string,
) {
  const { body, contentType } = multipartUpload(file, { filename, query: BENCH_UPLOAD_MUTATION });
  const response = await fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': contentType,
      'apollo-require-preflight': 'true',
    },
    body: new Uint8Array(body),
  });
  const result = await readGraphQLResult<{ uploadImage: { id: string; url: string } }>(response);
  if (!result.data?.uploadImage)
    throw new Error(`upload failed: HTTP ${response.status} ${JSON.stringify(result.errors)}`);
  return result.data.uploadImage;
}

/** Gives every user `perUser` small distinct images, then returns signed URLs with their ETags. */
export async function seedImages(
  gatewayUrl: string,
  users: SeededUser[],
  perUser: number,
): Promise<SeededImage[]> {
  const uploaded = await inParallel(users.length * perUser, 4, async (i) => {
    const user = users[i % users.length] as SeededUser;
    return uploadThroughGateway(gatewayUrl, user.accessToken, noisePng(64, 48, 6), `seed-${i}.png`);
  });
  const sample = uploaded.slice(0, 50);
  return Promise.all(
    sample.map(async ({ url }) => {
      const response = await fetch(url);
      await response.arrayBuffer();
      const etag = response.headers.get('etag');
      if (response.status !== 200 || !etag)
        throw new Error(`GET ${url}: HTTP ${response.status}, ETag ${etag}`);
      const parsed = new URL(url);
      return { path: `${parsed.pathname}${parsed.search}`, etag };
    }),
  );
}
