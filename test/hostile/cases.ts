/**
 * The hostile-input table: every case names the service it attacks, what it sends, and what must
 * come back. The runner (hostile.test.ts) adds the same three checks to each: the answer, the service
 * still answering a legitimate request afterwards, and no rows written (users, sessions, images, blobs).
 */

import {
  codesOf,
  gifPolyglot,
  htmlAsPng,
  multipartUpload,
  noisePng,
  pixelBombPng,
  pngSignatureThenGarbage,
  readGraphQLResult,
  svgWithScript,
} from '@imagehub/test-kit';
import { truncatedJpeg, uniquePng } from '../support/images';
import { rawRequest, requestHead } from '../support/raw-http';
import type { AuthSession, ServiceName, System, UploadedImage, UploadOptions } from '../support/system';
import type { TokenFactory } from '../support/tokens';
import { accountDeletionCases } from './account-deletion-cases';
import { accountsCases } from './accounts-cases';
import { authHardeningCases } from './auth-hardening-cases';
import { gql, outcomeOf } from './outcome';

export { outcomeOf };

export interface HostileContext {
  sys: System;
  alice: AuthSession;
  bob: AuthSession;
  aliceImage: UploadedImage;
  bobImage: UploadedImage;
  tokens: TokenFactory;
  /** The configured upload limit (gateway and image subgraph). */
  maxUploadBytes: number;
}

export interface Outcome {
  /** HTTP status; 0 when the connection closed without an answer. */
  status: number;
  codes: string[];
  fields: string[];
  data?: unknown;
  text: string;
}

export type Category =
  | 'tokens'
  | 'request bodies'
  | 'query bombs'
  | 'batching'
  | 'huge strings'
  | 'hostile files'
  | 'multipart abuse'
  | 'signed URLs'
  | "another user's ids"
  | 'refresh tokens'
  | 'headers'
  | 'subgraph trust'
  | 'proxy trust'
  | 'coded errors'
  | 'token claims'
  | 'names'
  | 'sessions';

export interface HostileCase<P = unknown> {
  name: string;
  category: Category;
  service: ServiceName;
  /** Set-up that may write (a fresh login, an upload to delete); not counted as the attack's writes. */
  prepare?: (ctx: HostileContext) => Promise<P>;
  attack: (ctx: HostileContext, prepared: P) => Promise<Outcome>;
  /** Every error must carry one of these codes, and there must be at least one; 'none': no errors at all. */
  codes?: string[] | 'none';
  status?: number[];
  /** `extensions.field` that one of the errors must name. */
  field?: string;
  check?: (outcome: Outcome, ctx: HostileContext, prepared: P) => void | Promise<void>;
  /** Abandoned requests: let the server notice before rows are counted. */
  settleMs?: number;
}

const UNAUTH = ['UNAUTHENTICATED'];
const VALIDATION = ['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'BAD_USER_INPUT'];
const BAD_REQUEST = ['BAD_REQUEST', 'BAD_USER_INPUT'];
const HUGE = 'A'.repeat(60_000);
const ME = '{ me { id name } }';
const MY_IMAGES = '{ myImages(first: 5) { totalCount edges { node { id } } } }';

/** For answers read off a raw socket: codes are picked out of whatever JSON the body holds. */
function outcomeOfRaw(answer: { status: number; text: string }): Outcome {
  const codes = [...answer.text.matchAll(/"code":"([A-Z_]+)"/g)].map((m) => m[1] ?? '');
  const fields = [...answer.text.matchAll(/"field":"([^"]*)"/g)].map((m) => m[1] ?? '');
  return { status: answer.status, codes, fields, text: answer.text };
}

const post = async (ctx: HostileContext, service: ServiceName, body: string | Buffer, token?: string) =>
  outcomeOf(
    await readGraphQLResult(
      await ctx.sys.request(service, '/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      }),
    ),
  );

const upload = async (ctx: HostileContext, file: Buffer, token: string | undefined, options: UploadOptions) =>
  outcomeOf(await ctx.sys.upload(file, token, options));

/** A query probe per service that needs a token and touches nothing else. */
const probeFor = (service: ServiceName) => (service === 'subgraph-image' ? MY_IMAGES : ME);

// ---------------------------------------------------------------------------------------------------
// Tokens: every kind of bad access token, against each of the three services.

const badTokens: { label: string; make: (ctx: HostileContext) => string }[] = [
  { label: 'forged (signed with another key, real kid)', make: (c) => c.tokens.forged(c.alice.userId) },
  { label: 'expired (real key)', make: (c) => c.tokens.expired(c.alice.userId) },
  { label: 'alg: none', make: (c) => c.tokens.algNone(c.alice.userId) },
  {
    label: 'algorithm confusion (HS256 keyed with the public key PEM)',
    make: (c) => c.tokens.hsWithPublicKey(c.alice.userId),
  },
  { label: 'wrong audience (real key)', make: (c) => c.tokens.wrongAudience(c.alice.userId) },
  { label: 'wrong issuer (real key)', make: (c) => c.tokens.wrongIssuer(c.alice.userId) },
  {
    label: "tampered payload (genuine token, sub edited to another user's id)",
    make: (c) => c.tokens.tamperedSubject(c.alice.accessToken, c.bob.userId),
  },
  { label: 'unknown kid (real key)', make: (c) => c.tokens.unknownKid(c.alice.userId) },
  { label: 'garbage', make: () => 'not.a.jwt' },
  { label: 'missing sub claim (real key)', make: (c) => c.tokens.real({ sub: undefined }) },
];

const tokenCases: HostileCase[] = (['gateway', 'subgraph-auth', 'subgraph-image'] as ServiceName[]).flatMap(
  (service) =>
    badTokens.map(
      (token): HostileCase => ({
        name: `${service}: ${token.label} access token`,
        category: 'tokens',
        service,
        attack: (ctx) => gql(ctx, service, probeFor(service), {}, token.make(ctx)),
        codes: UNAUTH,
        check: (o) => expect(JSON.stringify(o.data ?? null)).not.toContain('"id"'),
      }),
    ),
);

const tokenUploadCases: HostileCase[] = [
  {
    name: 'gateway: upload with an alg: none token',
    category: 'tokens',
    service: 'gateway',
    attack: async (ctx) => upload(ctx, await uniquePng(), ctx.tokens.algNone(ctx.alice.userId), {}),
    codes: UNAUTH,
  },
  {
    name: 'subgraph-image: upload with an expired token',
    category: 'tokens',
    service: 'subgraph-image',
    attack: async (ctx) =>
      upload(ctx, await uniquePng(), ctx.tokens.expired(ctx.alice.userId), { service: 'subgraph-image' }),
    codes: UNAUTH,
  },
  {
    name: 'gateway: Authorization header with a 60 kB token',
    category: 'headers',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', ME, {}, HUGE),
    // Node refuses headers over 16 kB outright (431); either way nobody is let in.
    status: [200, 400, 401, 431],
    check: (o) => {
      if (o.status === 200) expect(o.codes).toEqual(UNAUTH);
    },
  },
  {
    name: 'gateway: refresh token used as an access token',
    category: 'tokens',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', ME, {}, ctx.alice.refreshToken),
    codes: UNAUTH,
  },
];

// ---------------------------------------------------------------------------------------------------
// Request bodies.

const bodyCases: HostileCase[] = (['gateway', 'subgraph-auth', 'subgraph-image'] as ServiceName[]).flatMap(
  (service): HostileCase[] => [
    {
      name: `${service}: 2 MB JSON body`,
      category: 'request bodies',
      service,
      attack: (ctx) =>
        post(ctx, service, JSON.stringify({ query: ME, variables: { pad: 'x'.repeat(2 * 1024 * 1024) } })),
      status: [413],
      codes: ['PAYLOAD_TOO_LARGE'],
    },
    {
      name: `${service}: malformed JSON body`,
      category: 'request bodies',
      service,
      attack: (ctx) => post(ctx, service, '{"query": "{ me { id } }", "variables": {'),
      status: [400],
      codes: BAD_REQUEST,
      // Express's default error page would carry the parser's stack trace.
      check: (o) => expect(o.text).not.toMatch(/at .+\(.+:\d+:\d+\)|node_modules/),
    },
  ],
);

bodyCases.push(
  {
    name: 'gateway: JSON body whose query is a number',
    category: 'request bodies',
    service: 'gateway',
    attack: (ctx) => post(ctx, 'gateway', JSON.stringify({ query: 42 })),
    status: [400],
    codes: BAD_REQUEST,
  },
  {
    name: 'gateway: JSON body `null`',
    category: 'request bodies',
    service: 'gateway',
    attack: (ctx) => post(ctx, 'gateway', 'null'),
    status: [400],
    codes: BAD_REQUEST,
  },
  {
    name: 'gateway: mutation over GET (CSRF-able)',
    category: 'request bodies',
    service: 'gateway',
    attack: async (ctx) => {
      const query = encodeURIComponent('mutation { logout(refreshToken: "x") }');
      return outcomeOf(
        await readGraphQLResult(
          await ctx.sys.request('gateway', `/graphql?query=${query}`, {
            headers: { 'apollo-require-preflight': '1' },
          }),
        ),
      );
    },
    status: [400, 405],
    codes: BAD_REQUEST,
  },
);

// ---------------------------------------------------------------------------------------------------
// Query bombs, at the front door.

const nest = (levels: number) => {
  let inner = 'id';
  for (let i = 0; i < levels; i++) inner = `images { edges { node { owner { ${inner} } } } }`;
  return `{ me { ${inner} } }`;
};

const fragmentCycle =
  'query Cycle { me { ...A } } fragment A on User { id ...B } fragment B on User { name ...A }';

/** Each fragment spreads the previous one twice: 2^30 fields if expanded naively. */
const fragmentFanOut = () => {
  const fragments = ['fragment F0 on User { id name }'];
  for (let i = 1; i <= 30; i++) fragments.push(`fragment F${i} on User { ...F${i - 1} ...F${i - 1} }`);
  return `query FanOut { me { ...F30 } } ${fragments.join(' ')}`;
};

const bombCases: HostileCase[] = [
  {
    name: 'gateway: depth bomb (User.images.owner nested 6 times)',
    category: 'query bombs',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', nest(6), {}, ctx.alice.accessToken),
    codes: VALIDATION,
  },
  {
    name: 'gateway: alias bomb (200 aliases of me)',
    category: 'query bombs',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: me { id }`).join(' ')} }`,
        {},
        ctx.alice.accessToken,
      ),
    codes: VALIDATION,
  },
  {
    name: 'gateway: directive bomb (60 @skip on one field)',
    category: 'query bombs',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', `{ me ${'@skip(if: false) '.repeat(60)}{ id } }`, {}, ctx.alice.accessToken),
    codes: VALIDATION,
  },
  {
    name: 'gateway: field-repetition bomb (5,000 tokens)',
    category: 'query bombs',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', `{ me { ${'id '.repeat(5000)} } }`, {}, ctx.alice.accessToken),
    codes: VALIDATION,
  },
  {
    name: 'gateway: fragment fan-out bomb (2^30 fields when expanded)',
    category: 'query bombs',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', fragmentFanOut(), {}, ctx.alice.accessToken),
    codes: VALIDATION,
  },
  ...(['gateway', 'subgraph-auth', 'subgraph-image'] as ServiceName[]).map(
    (service): HostileCase => ({
      name: `${service}: fragment cycle`,
      category: 'query bombs',
      service,
      attack: (ctx) => gql(ctx, service, fragmentCycle, {}, ctx.alice.accessToken),
      codes: VALIDATION,
    }),
  ),
  {
    name: 'gateway: _entities smuggled through the front door',
    category: 'query bombs',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }',
        { r: [{ __typename: 'User', id: ctx.bob.userId }] },
        ctx.alice.accessToken,
      ),
    codes: VALIDATION,
    check: (o, ctx) => expect(o.text).not.toContain(ctx.bob.email),
  },
];

// ---------------------------------------------------------------------------------------------------
// Batching.

const batchCases: HostileCase[] = [
  ...(['gateway', 'subgraph-auth', 'subgraph-image'] as ServiceName[]).map(
    (service): HostileCase => ({
      name: `${service}: batch of 500 operations in one body`,
      category: 'batching',
      service,
      attack: (ctx) =>
        post(
          ctx,
          service,
          JSON.stringify(Array.from({ length: 500 }, () => ({ query: probeFor(service) }))),
          ctx.alice.accessToken,
        ),
      status: [400],
    }),
  ),
  {
    name: 'gateway: 50 mutations in one operation (login spraying)',
    category: 'batching',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        `mutation { ${Array.from(
          { length: 50 },
          (_, i) => `l${i}: login(email: "${ctx.alice.email}", password: "guess-${i}") { accessToken }`,
        ).join(' ')} }`,
      ),
    codes: VALIDATION,
  },
  {
    name: 'gateway: two operations without operationName',
    category: 'batching',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', 'query A { me { id } } query B { me { name } }', {}, ctx.alice.accessToken),
    codes: [...VALIDATION, 'BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE'],
  },
];

// ---------------------------------------------------------------------------------------------------
// Huge strings in every argument.

const REGISTER =
  'mutation($name: String!, $email: String!, $password: String!) { register(name: $name, email: $email, password: $password) { accessToken } }';
const LOGIN =
  'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';

const hugeCases: HostileCase[] = [
  {
    name: 'register: 60 kB name',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', REGISTER, {
        name: HUGE,
        email: `n${Date.now()}@example.test`,
        password: 'a long enough secret 1',
      }),
    codes: ['BAD_USER_INPUT'],
    field: 'name',
  },
  {
    name: 'register: 60 kB email',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', REGISTER, {
        name: 'Eve',
        email: `${HUGE}@example.test`,
        password: 'a long enough secret 2',
      }),
    codes: ['BAD_USER_INPUT'],
    field: 'email',
  },
  {
    name: 'register: 60 kB password',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', REGISTER, { name: 'Eve', email: `p${Date.now()}@example.test`, password: HUGE }),
    codes: ['BAD_USER_INPUT'],
    field: 'password',
  },
  {
    name: 'register: SQL in every argument',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', REGISTER, {
        name: "'); drop table auth.users; --",
        email: "x' or '1'='1",
        password: "' or 1=1; drop table image.blobs; --",
      }),
    codes: ['BAD_USER_INPUT'],
    field: 'email',
  },
  {
    name: 'login: 60 kB email',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', LOGIN, { email: HUGE, password: 'whatever it is' }),
    codes: ['UNAUTHENTICATED', 'BAD_USER_INPUT'],
  },
  {
    name: 'login: 60 kB password',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', LOGIN, { email: ctx.alice.email, password: HUGE }),
    codes: ['UNAUTHENTICATED', 'BAD_USER_INPUT'],
  },
  {
    name: 'refreshToken: 60 kB token',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', {
        t: HUGE,
      }),
    // Too long to be a refresh token is an unknown one: the contract's REFRESH_TOKEN_INVALID.
    codes: UNAUTH,
  },
  {
    name: 'logout: 60 kB token',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', 'mutation($t: String!) { logout(refreshToken: $t) }', { t: HUGE }),
    // Idempotent by contract: true for a token that names no live session, a 60 kB one included.
    check: (o) => {
      expect(o.codes).toEqual([]);
      expect(o.data).toEqual({ logout: true });
    },
    status: [200],
  },
  {
    name: 'image(id): 60 kB id',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', 'query($id: ID!) { image(id: $id) { id } }', { id: HUGE }, ctx.alice.accessToken),
    check: (o) => {
      if (o.codes.length === 0) expect(o.data).toEqual({ image: null });
      else expect(['BAD_USER_INPUT', 'NOT_FOUND']).toEqual(expect.arrayContaining(o.codes));
    },
    status: [200],
  },
  {
    name: 'deleteImage(id): 60 kB id',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', 'mutation($id: ID!) { deleteImage(id: $id) }', { id: HUGE }, ctx.alice.accessToken),
    codes: ['NOT_FOUND', 'BAD_USER_INPUT'],
  },
  {
    name: 'myImages(after): 60 kB cursor',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        'query($a: String) { myImages(after: $a) { totalCount } }',
        { a: HUGE },
        ctx.alice.accessToken,
      ),
    codes: ['BAD_USER_INPUT'],
    field: 'after',
  },
  {
    name: 'User.images(after): 60 kB cursor',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        'query($a: String) { me { images(after: $a) { totalCount } } }',
        { a: HUGE },
        ctx.alice.accessToken,
      ),
    codes: ['BAD_USER_INPUT'],
    field: 'after',
  },
  {
    name: 'myImages(first): 2^31-1 is capped, not obeyed',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        '{ myImages(first: 2147483647) { edges { node { id } } } }',
        {},
        ctx.alice.accessToken,
      ),
    // Capped at 100, or refused outright by the gateway's cost limit.
    check: (o) => {
      if (o.codes.length === 0) {
        const edges = (o.data as { myImages: { edges: unknown[] } }).myImages.edges;
        expect(edges.length).toBeLessThanOrEqual(100);
      } else expect(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED']).toEqual(expect.arrayContaining(o.codes));
    },
    status: [200, 400],
  },
  {
    name: 'myImages(first): negative',
    category: 'huge strings',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', '{ myImages(first: -5) { totalCount } }', {}, ctx.alice.accessToken),
    codes: ['BAD_USER_INPUT'],
  },
  {
    name: 'gateway: 10 kB x-request-id is not echoed',
    category: 'headers',
    service: 'gateway',
    attack: async (ctx) => {
      const response = await ctx.sys.request('gateway', '/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'x'.repeat(10_000) },
        body: JSON.stringify({ query: ME }),
      });
      const outcome = outcomeOf(await readGraphQLResult(response));
      return { ...outcome, text: response.headers.get('x-request-id') ?? '' };
    },
    codes: UNAUTH,
    check: (o) => {
      expect(o.text.length).toBeGreaterThan(0);
      expect(o.text.length).toBeLessThanOrEqual(128);
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// Hostile files, through the gateway and straight at the image subgraph.

const hostileFiles: {
  label: string;
  make: (ctx: HostileContext) => Buffer | Promise<Buffer>;
  filename: string;
  type: string;
  codes: string[];
  field?: string;
}[] = [
  {
    label: 'SVG with a script',
    make: svgWithScript,
    filename: 'cat.svg',
    type: 'image/svg+xml',
    codes: ['BAD_USER_INPUT'],
    field: 'file',
  },
  {
    label: 'HTML renamed .png',
    make: htmlAsPng,
    filename: 'cat.png',
    type: 'image/png',
    codes: ['BAD_USER_INPUT'],
    field: 'file',
  },
  {
    label: 'PNG signature followed by garbage',
    make: pngSignatureThenGarbage,
    filename: 'cat.png',
    type: 'image/png',
    codes: ['BAD_USER_INPUT'],
    field: 'file',
  },
  {
    label: 'zero-byte file',
    make: () => Buffer.alloc(0),
    filename: 'empty.png',
    type: 'image/png',
    codes: ['BAD_USER_INPUT'],
    field: 'file',
  },
  {
    label: 'truncated JPEG',
    make: truncatedJpeg,
    filename: 'half.jpg',
    type: 'image/jpeg',
    codes: ['BAD_USER_INPUT'],
    field: 'file',
  },
  {
    label: 'pixel bomb (50,000 x 50,000 PNG header, tiny file)',
    make: () => pixelBombPng(),
    filename: 'bomb.png',
    type: 'image/png',
    codes: ['PAYLOAD_TOO_LARGE', 'BAD_USER_INPUT'],
  },
  {
    label: 'file over the size limit',
    make: (ctx) =>
      noisePng(
        Math.ceil(Math.sqrt((ctx.maxUploadBytes * 1.5) / 3)),
        Math.ceil(Math.sqrt((ctx.maxUploadBytes * 1.5) / 3)),
      ),
    filename: 'big.png',
    type: 'image/png',
    codes: ['PAYLOAD_TOO_LARGE'],
  },
  {
    label: 'GIF/PHP polyglot',
    make: gifPolyglot,
    filename: 'shell.gif.php',
    type: 'image/gif',
    codes: ['BAD_USER_INPUT'],
    field: 'file',
  },
];

const fileCases: HostileCase[] = (['gateway', 'subgraph-image'] as ServiceName[]).flatMap((service) =>
  hostileFiles.map(
    (file): HostileCase => ({
      name: `${service}: ${file.label}`,
      category: 'hostile files',
      service,
      attack: async (ctx) =>
        upload(ctx, await file.make(ctx), ctx.alice.accessToken, {
          service,
          filename: file.filename,
          contentType: file.type,
        }),
      codes: file.codes,
      field: file.field,
    }),
  ),
);

// ---------------------------------------------------------------------------------------------------
// Multipart abuse (GraphQL multipart request spec), mostly through the gateway.

const UPLOAD_OPS = JSON.stringify({
  query: 'mutation($file: Upload!) { uploadImage(file: $file) { id } }',
  variables: { file: null },
});

function rawMultipart(ctx: HostileContext, service: ServiceName, contentType: string, contentLength: number) {
  const port = {
    gateway: ctx.sys.gatewayPort,
    'subgraph-image': ctx.sys.imagePort,
    'subgraph-auth': ctx.sys.authPort,
  }[service];
  return {
    port,
    head: requestHead('POST', '/graphql', port, {
      'Content-Type': contentType,
      'Content-Length': contentLength,
      Authorization: `Bearer ${ctx.alice.accessToken}`,
      'Apollo-Require-Preflight': 'true',
    }),
  };
}

const multipartCases: HostileCase[] = [
  {
    name: 'gateway: lying map (points at a variable that does not exist)',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) =>
      upload(ctx, await uniquePng(), ctx.alice.accessToken, {
        map: JSON.stringify({ '0': ['variables.nothere'] }),
      }),
    codes: BAD_REQUEST,
  },
  {
    name: 'gateway: lying map (one file mapped to two variables)',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) =>
      upload(ctx, await uniquePng(), ctx.alice.accessToken, {
        operations: JSON.stringify({
          query:
            'mutation($file: Upload!, $other: Upload!) { a: uploadImage(file: $file) { id } b: uploadImage(file: $other) { id } }',
          variables: { file: null, other: null },
        }),
        map: JSON.stringify({ '0': ['variables.file', 'variables.other'] }),
      }),
    codes: [...BAD_REQUEST, 'PAYLOAD_TOO_LARGE'],
  },
  {
    name: 'gateway: map that is not JSON',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) => upload(ctx, await uniquePng(), ctx.alice.accessToken, { map: '{"0": [' }),
    // The contract's code for a malformed multipart form.
    codes: ['BAD_REQUEST'],
  },
  {
    name: 'gateway: operations that are not JSON',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) =>
      upload(ctx, await uniquePng(), ctx.alice.accessToken, { operations: 'mutation {' }),
    // The contract's code for a malformed multipart form.
    codes: ['BAD_REQUEST'],
  },
  {
    name: 'gateway: missing file part',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) => upload(ctx, await uniquePng(), ctx.alice.accessToken, { omitFile: true }),
    codes: BAD_REQUEST,
  },
  {
    name: 'subgraph-image: missing file part',
    category: 'multipart abuse',
    service: 'subgraph-image',
    attack: async (ctx) =>
      upload(ctx, await uniquePng(), ctx.alice.accessToken, { omitFile: true, service: 'subgraph-image' }),
    codes: BAD_REQUEST,
  },
  {
    name: 'gateway: two files where one is allowed',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) =>
      upload(ctx, await uniquePng(), ctx.alice.accessToken, {
        map: JSON.stringify({ '0': ['variables.file'], '1': ['variables.file'] }),
        extraParts: [{ name: '1', body: await uniquePng() }],
      }),
    codes: [...BAD_REQUEST, 'PAYLOAD_TOO_LARGE'],
  },
  {
    name: 'gateway: multipart without the CSRF preflight header',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) => {
      const { body, contentType } = multipartUpload(await uniquePng());
      return outcomeOf(
        await readGraphQLResult(
          await ctx.sys.request('gateway', '/graphql', {
            method: 'POST',
            headers: { 'content-type': contentType, authorization: `Bearer ${ctx.alice.accessToken}` },
            body: new Uint8Array(body),
          }),
        ),
      );
    },
    status: [400],
    codes: BAD_REQUEST,
  },
  {
    name: 'gateway: upload without a token',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) => upload(ctx, await uniquePng(), undefined, {}),
    codes: UNAUTH,
  },
  {
    name: 'gateway: Content-Length declaring 1 GB',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) => {
      const { body, contentType } = multipartUpload(await uniquePng());
      const { port, head } = rawMultipart(ctx, 'gateway', contentType, 1024 ** 3);
      return outcomeOfRaw(await rawRequest(port, head, body, { abort: true }));
    },
    status: [413],
    codes: ['PAYLOAD_TOO_LARGE'],
  },
  {
    name: 'gateway: more bytes sent than the declared Content-Length',
    category: 'multipart abuse',
    service: 'gateway',
    attack: async (ctx) => {
      const { body, contentType } = multipartUpload(noisePng(120, 120), { operations: UPLOAD_OPS });
      const { port, head } = rawMultipart(ctx, 'gateway', contentType, body.length - 4096);
      return outcomeOfRaw(await rawRequest(port, head, body));
    },
    // The surplus reads as a malformed next request: Node's parser answers 400 and closes the socket.
    status: [400],
    settleMs: 300,
  },
  ...(['gateway', 'subgraph-image'] as ServiceName[]).flatMap((service): HostileCase[] => [
    {
      name: `${service}: file part runs past the declared Content-Length (body cut there)`,
      category: 'multipart abuse',
      service,
      attack: async (ctx) => {
        const { body, contentType } = multipartUpload(noisePng(120, 120), { operations: UPLOAD_OPS });
        const declared = body.length - 4096;
        const { port, head } = rawMultipart(ctx, service, contentType, declared);
        return outcomeOfRaw(await rawRequest(port, head, body, { sendBytes: declared }));
      },
      // GraphQL errors travel with 200 as often as with 400; the code is what counts.
      status: [200, 400],
      codes: BAD_REQUEST,
      settleMs: 300,
    },
    {
      name: `${service}: client stops sending halfway through the file`,
      category: 'multipart abuse',
      service,
      attack: async (ctx) => {
        const { body, contentType } = multipartUpload(noisePng(200, 200), { operations: UPLOAD_OPS });
        const { port, head } = rawMultipart(ctx, service, contentType, body.length);
        return outcomeOfRaw(
          await rawRequest(port, head, body, { sendBytes: Math.floor(body.length / 2), abort: true }),
        );
      },
      // Nobody is left to answer; what matters is that nothing was stored and the service lives on.
      status: [0, 400, 408],
      settleMs: 1_500,
    },
  ]),
];

// ---------------------------------------------------------------------------------------------------
// Signed URLs.

const pathOf = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

async function fetchImage(ctx: HostileContext, service: ServiceName, path: string): Promise<Outcome> {
  const response = await ctx.sys.request(service, path, { redirect: 'manual' });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, codes: [], fields: [], text: body.subarray(0, 200).toString('latin1') };
}

const withParam = (url: string, name: string, value: string | undefined) => {
  const parsed = new URL(url);
  if (value === undefined) parsed.searchParams.delete(name);
  else parsed.searchParams.set(name, value);
  return `${parsed.pathname}${parsed.search}`;
};

const flipLastChar = (s: string) => `${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`;

const signedUrlCases: HostileCase[] = [
  {
    name: 'signed URL: one character of the signature changed',
    category: 'signed URLs',
    service: 'gateway',
    attack: (ctx) =>
      fetchImage(
        ctx,
        'gateway',
        withParam(
          ctx.aliceImage.url,
          'sig',
          flipLastChar(new URL(ctx.aliceImage.url).searchParams.get('sig')!),
        ),
      ),
    status: [403],
  },
  {
    name: 'signed URL: expiry pushed a year later, same signature',
    category: 'signed URLs',
    service: 'gateway',
    attack: (ctx) =>
      fetchImage(
        ctx,
        'gateway',
        withParam(
          ctx.aliceImage.url,
          'exp',
          String(Number(new URL(ctx.aliceImage.url).searchParams.get('exp')) + 31_536_000),
        ),
      ),
    status: [403],
  },
  {
    name: "signed URL: thumbnail's signature on the original",
    category: 'signed URLs',
    service: 'gateway',
    attack: (ctx) => {
      const thumb = new URL(ctx.aliceImage.thumbnailUrl);
      const original = new URL(ctx.aliceImage.url);
      original.searchParams.set('sig', thumb.searchParams.get('sig')!);
      original.searchParams.set('exp', thumb.searchParams.get('exp')!);
      return fetchImage(ctx, 'gateway', pathOf(original.toString()));
    },
    status: [403],
  },
  {
    name: "signed URL: another image's id under a valid signature",
    category: 'signed URLs',
    service: 'gateway',
    attack: (ctx) =>
      fetchImage(ctx, 'gateway', pathOf(ctx.aliceImage.url).replace(ctx.aliceImage.id, ctx.bobImage.id)),
    status: [403],
  },
  {
    name: 'signed URL: signature removed',
    category: 'signed URLs',
    service: 'gateway',
    attack: (ctx) => fetchImage(ctx, 'gateway', withParam(ctx.aliceImage.url, 'sig', undefined)),
    status: [403],
  },
  {
    name: 'signed URL: expired long ago',
    category: 'signed URLs',
    service: 'gateway',
    attack: (ctx) => fetchImage(ctx, 'gateway', withParam(ctx.aliceImage.url, 'exp', '1')),
    status: [403],
  },
  {
    name: 'signed URL: path traversal in the id',
    category: 'signed URLs',
    service: 'gateway',
    attack: (ctx) =>
      fetchImage(
        ctx,
        'gateway',
        pathOf(ctx.aliceImage.url).replace(ctx.aliceImage.id, '..%2F..%2F..%2Fetc%2Fpasswd'),
      ),
    status: [400, 403, 404],
    check: (o) => expect(o.text).not.toContain('root:'),
  },
  {
    name: 'signed URL: tampered, straight at the image subgraph',
    category: 'signed URLs',
    service: 'subgraph-image',
    attack: (ctx) =>
      fetchImage(
        ctx,
        'subgraph-image',
        withParam(
          ctx.aliceImage.url,
          'sig',
          flipLastChar(new URL(ctx.aliceImage.url).searchParams.get('sig')!),
        ),
      ),
    status: [403],
  },
  {
    name: 'signed URL: replayed after the image was deleted',
    category: 'signed URLs',
    service: 'gateway',
    prepare: async (ctx) => {
      const image = await ctx.sys.uploadOk(await uniquePng(), ctx.alice.accessToken);
      const before = await fetchImage(ctx, 'gateway', pathOf(image.url));
      expect(before.status).toBe(200);
      const deleted = await ctx.sys.gql(
        'mutation($id: ID!) { deleteImage(id: $id) }',
        { id: image.id },
        ctx.alice.accessToken,
      );
      expect(deleted.data).toEqual({ deleteImage: true });
      return image;
    },
    attack: (ctx, image) => fetchImage(ctx, 'gateway', pathOf((image as UploadedImage).url)),
    status: [404],
    check: async (_o, ctx, image) => {
      const thumb = await fetchImage(ctx, 'gateway', pathOf((image as UploadedImage).thumbnailUrl));
      expect(thumb.status).toBe(404);
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// Another user's ids, in every field that takes one.

const anotherUsersCases: HostileCase[] = [
  {
    // The gateway answers `owner { name }` from the request's own `me` answer (subgraphs/entity-memo.ts):
    // an alias must not make another field pass for the name.
    name: 'gateway: `me { name: email }` does not become the owner name the gateway reuses',
    category: "another user's ids",
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        '{ me { __typename id name: email images { edges { node { owner { __typename id name } } } } } }',
        {},
        ctx.alice.accessToken,
      ),
    codes: 'none',
    check: (o, ctx) => {
      const me = (
        o.data as { me: { name: string; images: { edges: { node: { owner: { name: string } } }[] } } }
      ).me;
      expect(me.name).toBe(ctx.alice.email);
      expect(me.images.edges.length).toBeGreaterThan(0);
      for (const edge of me.images.edges) expect(edge.node.owner.name).not.toBe(ctx.alice.email);
    },
  },
  {
    name: "gateway: another user's image's owner is not filled in from the caller's own answer",
    category: "another user's ids",
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        'query($id: ID!) { me { id name email } image(id: $id) { owner { id name email } } }',
        { id: ctx.bobImage.id },
        ctx.alice.accessToken,
      ),
    codes: 'none',
    check: (o, ctx) => {
      expect((o.data as { image: unknown }).image).toBeNull();
      expect(o.text).not.toContain(ctx.bob.email);
    },
  },
  {
    name: "image(id): another user's image",
    category: "another user's ids",
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        'query($id: ID!) { image(id: $id) { id url } }',
        { id: ctx.bobImage.id },
        ctx.alice.accessToken,
      ),
    codes: 'none',
    check: (o) => expect(o.data).toEqual({ image: null }),
  },
  {
    name: "deleteImage(id): another user's image",
    category: "another user's ids",
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        'mutation($id: ID!) { deleteImage(id: $id) }',
        { id: ctx.bobImage.id },
        ctx.alice.accessToken,
      ),
    codes: ['NOT_FOUND'],
    check: async (_o, ctx) => {
      const still = await ctx.sys.gql(
        'query($id: ID!) { image(id: $id) { id } }',
        { id: ctx.bobImage.id },
        ctx.bob.accessToken,
      );
      expect(still.data).toEqual({ image: { id: ctx.bobImage.id } });
    },
  },
  {
    name: "deleteImage(id): another user's image, straight at the image subgraph",
    category: "another user's ids",
    service: 'subgraph-image',
    attack: (ctx) =>
      gql(
        ctx,
        'subgraph-image',
        'mutation($id: ID!) { deleteImage(id: $id) }',
        { id: ctx.bobImage.id },
        ctx.alice.accessToken,
      ),
    codes: ['NOT_FOUND'],
  },
  {
    name: "myImages(after): a cursor taken from another user's listing",
    category: "another user's ids",
    service: 'gateway',
    attack: async (ctx) => {
      const bobs = await ctx.sys.gql<{ myImages: { edges: { cursor: string }[] } }>(
        '{ myImages(first: 1) { edges { cursor } } }',
        {},
        ctx.bob.accessToken,
      );
      const cursor = bobs.data?.myImages.edges[0]?.cursor;
      expect(cursor).toBeDefined();
      return gql(
        ctx,
        'gateway',
        'query($a: String) { myImages(after: $a) { edges { node { id } } } }',
        { a: cursor },
        ctx.alice.accessToken,
      );
    },
    // Either refused, or a page of Alice's own images; never one of Bob's.
    check: (o, ctx) => {
      expect(o.text).not.toContain(ctx.bobImage.id);
      if (o.codes.length) expect(o.codes).toEqual(['BAD_USER_INPUT']);
    },
    status: [200],
  },
  {
    name: "User.images via _entities on the image subgraph: another user's",
    category: "another user's ids",
    service: 'subgraph-image',
    attack: (ctx) =>
      gql(
        ctx,
        'subgraph-image',
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { images { totalCount edges { node { id url } } } } } }',
        { r: [{ __typename: 'User', id: ctx.bob.userId }] },
        ctx.alice.accessToken,
      ),
    codes: ['FORBIDDEN'],
    check: (o, ctx) => expect(o.text).not.toContain(ctx.bobImage.id),
  },
  {
    name: "Image via _entities on the image subgraph: another user's image",
    category: "another user's ids",
    service: 'subgraph-image',
    attack: (ctx) =>
      gql(
        ctx,
        'subgraph-image',
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id url sha256 } } }',
        { r: [{ __typename: 'Image', id: ctx.bobImage.id }] },
        ctx.alice.accessToken,
      ),
    // null, or an error: never Bob's signed URL.
    check: (o, ctx) => {
      expect(o.text).not.toContain(`/images/${ctx.bobImage.id}/`);
      expect(o.text).not.toContain(ctx.bobImage.sha256);
      if (o.codes.length) expect(['FORBIDDEN', 'NOT_FOUND']).toEqual(expect.arrayContaining(o.codes));
    },
    status: [200],
  },
  {
    name: 'uploadImage: variables smuggle an ownerId',
    category: "another user's ids",
    service: 'gateway',
    attack: async (ctx) =>
      upload(ctx, await uniquePng(), ctx.alice.accessToken, {
        operations: JSON.stringify({
          query:
            'mutation($file: Upload!, $ownerId: ID) { uploadImage(file: $file, ownerId: $ownerId) { id } }',
          variables: { file: null, ownerId: ctx.bob.userId },
        }),
      }),
    codes: VALIDATION,
  },
];

// ---------------------------------------------------------------------------------------------------
// Refresh tokens: replay and races.

const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }';

const refreshCases: HostileCase[] = [
  {
    name: 'refreshToken: replay of a rotated token revokes the session',
    category: 'refresh tokens',
    service: 'gateway',
    prepare: async (ctx) => {
      const session = await ctx.sys.login(ctx.alice.email, ctx.alice.password);
      const rotated = await ctx.sys.refresh(session.refreshToken);
      expect(codesOf(rotated)).toEqual([]);
      return { old: session.refreshToken, next: rotated.data!.refreshToken.refreshToken };
    },
    attack: (ctx, p) => gql(ctx, 'gateway', REFRESH, { t: (p as { old: string }).old }),
    codes: UNAUTH,
    check: async (_o, ctx, p) => {
      const next = await ctx.sys.refresh((p as { next: string }).next);
      expect(codesOf(next)).toEqual(UNAUTH);
    },
  },
  ...[2, 8].map(
    (racers): HostileCase => ({
      name: `refreshToken: ${racers} uses of one token at the same instant`,
      category: 'refresh tokens',
      service: 'gateway',
      prepare: async (ctx) => (await ctx.sys.login(ctx.alice.email, ctx.alice.password)).refreshToken,
      attack: async (ctx, token) => {
        const results = await Promise.all(
          Array.from({ length: racers }, () => ctx.sys.refresh(token as string)),
        );
        const wins = results.filter((r) => r.data?.refreshToken);
        return {
          status: 200,
          codes: results.flatMap(codesOf),
          fields: [],
          data: { wins: wins.length },
          text: results.map((r) => r.text).join('\n'),
        };
      },
      codes: UNAUTH,
      check: (o) => expect((o.data as { wins: number }).wins).toBeLessThanOrEqual(1),
    }),
  ),
  {
    name: 'refreshToken: after logout',
    category: 'refresh tokens',
    service: 'gateway',
    prepare: async (ctx) => {
      const session = await ctx.sys.login(ctx.alice.email, ctx.alice.password);
      const out = await ctx.sys.gql('mutation($t: String!) { logout(refreshToken: $t) }', {
        t: session.refreshToken,
      });
      expect(out.data).toEqual({ logout: true });
      return session.refreshToken;
    },
    attack: (ctx, token) => gql(ctx, 'gateway', REFRESH, { t: token as string }),
    codes: UNAUTH,
  },
  {
    name: 'refreshToken: an access token presented as a refresh token',
    category: 'refresh tokens',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', REFRESH, { t: ctx.alice.accessToken }),
    codes: UNAUTH,
  },
  {
    name: 'refreshToken: straight at the auth subgraph, garbage token',
    category: 'refresh tokens',
    service: 'subgraph-auth',
    attack: (ctx) => gql(ctx, 'subgraph-auth', REFRESH, { t: 'x'.repeat(43) }),
    codes: UNAUTH,
  },
];

export const hostileCases: HostileCase[] = [
  ...tokenCases,
  ...tokenUploadCases,
  ...bodyCases,
  ...bombCases,
  ...batchCases,
  ...hugeCases,
  ...fileCases,
  ...multipartCases,
  ...signedUrlCases,
  ...anotherUsersCases,
  ...refreshCases,
  ...authHardeningCases,
  ...accountsCases,
  ...accountDeletionCases,
] as HostileCase[];
