/**
 * Hostile cases of the hardening issue's auth, token and error findings (issue 11: 5, 6, 9, 10, 12),
 * run by hostile.test.ts with the rest of the table. The findings that need other settings
 * (production mode, real throttle limits: 7, 13, and 6's throttling) are in auth-hardening.test.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { uniquePng } from '../support/images';
import type { ServiceName } from '../support/system';
import type { HostileCase, HostileContext, Outcome } from './cases';
import { gql, outcomeOf } from './outcome';

const UNAUTH = ['UNAUTHENTICATED'];
const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }';
const USER_EMAIL = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name email } } }';
const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }';
const REGISTER =
  'mutation($n: String!, $e: String!, $p: String!) { register(name: $n, email: $e, password: $p) { accessToken user { id name } } }';
const SUBGRAPHS: ServiceName[] = ['subgraph-auth', 'subgraph-image'];
const ALL: ServiceName[] = ['gateway', ...SUBGRAPHS];

/**
 * A POST from another loopback address than the gateway's (127.0.0.1): to the services it is a
 * client like any on the network, and not a proxy whose X-Forwarded-For they may believe.
 */
export function postFrom(
  localAddress: string,
  port: number,
  body: string,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', ...headers },
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] } = {};
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: judged by status alone
          }
          resolve({
            status: response.statusCode ?? 0,
            codes: (parsed.errors ?? []).map((e) => String(e.extensions?.code ?? '')),
            fields: (parsed.errors ?? []).map((e) => String(e.extensions?.field ?? '')),
            data: parsed.data,
            text,
          });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer within 10 s')));
    request.on('error', reject);
    request.end(body);
  });
}

/** Whether anything answers on `address:port` (a refused connection is the point of some cases). */
function connects(address: string, port: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const request = http.get({ host: address, port, path: '/healthz', timeout: 5_000 }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0, codes: [], fields: [], text: '' });
    });
    request.on('error', (error) => resolve({ status: 0, codes: [], fields: [], text: String(error) }));
    request.on('timeout', () => request.destroy(new Error('timeout')));
  });
}

/** The client addresses the auth subgraph's throttle has counters for (its keys end in the address). */
async function throttledAddresses(ctx: HostileContext): Promise<string[]> {
  const rows: { key: string }[] = await ctx.sys
    .db('auth.rate_limits')
    .select('key')
    .where('key', 'like', '%:login-ip:%');
  return rows.map((row) => row.key.slice(row.key.indexOf(':login-ip:') + ':login-ip:'.length));
}

// ---------------------------------------------------------------------------------------------------
// 5. The subgraph trust boundary.

const trustBoundaryCases: HostileCase[] = [
  {
    name: "subgraph-auth: _entities reads another user's email without a token",
    category: 'subgraph trust',
    service: 'subgraph-auth',
    attack: (ctx) =>
      gql(ctx, 'subgraph-auth', USER_EMAIL, { r: [{ __typename: 'User', id: ctx.bob.userId }] }),
    codes: UNAUTH,
    check: (o, ctx) => expect(o.text).not.toContain(ctx.bob.email),
  },
  {
    name: "subgraph-auth: _entities reads another user's email with one's own token",
    category: 'subgraph trust',
    service: 'subgraph-auth',
    attack: (ctx) =>
      gql(
        ctx,
        'subgraph-auth',
        USER_EMAIL,
        { r: [{ __typename: 'User', id: ctx.bob.userId }] },
        ctx.alice.accessToken,
      ),
    codes: ['FORBIDDEN'],
    check: (o, ctx) => expect(o.text).not.toContain(ctx.bob.email),
  },
  ...SUBGRAPHS.map(
    (service): HostileCase => ({
      name: `${service}: reached on an address other than loopback (it listens on 127.0.0.1 only)`,
      category: 'subgraph trust',
      service,
      attack: (ctx) =>
        connects('127.0.0.2', service === 'subgraph-auth' ? ctx.sys.authPort : ctx.sys.imagePort),
      status: [0],
      // The gateway, which is public, does answer there: the refusal is the binding, not the address.
      check: async (_o, ctx) => expect((await connects('127.0.0.2', ctx.sys.gatewayPort)).status).toBe(200),
    }),
  ),
];

const metricsCases: HostileCase[] = ALL.map(
  (service): HostileCase => ({
    name: `${service}: /metrics on an address other than loopback, and on the service port`,
    category: 'subgraph trust',
    service,
    attack: (ctx) => connects('127.0.0.2', ctx.sys.metricsPorts[service]),
    status: [0],
    check: async (_o, ctx) => {
      const onServicePort = await fetch(`${ctx.sys.url(service)}/metrics`);
      expect(await onServicePort.text()).not.toMatch(/nodejs_version_info/);
      expect(await (await fetch(ctx.sys.metricsUrl(service))).text()).toMatch(/nodejs_version_info/);
    },
  }),
);

// ---------------------------------------------------------------------------------------------------
// 6. Proxy trust: X-Forwarded-For counts only from the gateway's address.

const proxyTrustCases: HostileCase[] = [
  {
    name: 'subgraph-auth: X-Forwarded-For from a client that is not the gateway is ignored by the throttle',
    category: 'proxy trust',
    service: 'subgraph-auth',
    attack: (ctx) =>
      postFrom(
        '127.0.0.2',
        ctx.sys.authPort,
        JSON.stringify({ query: LOGIN, variables: { e: ctx.bob.email, p: 'guess-1' } }),
        {
          'x-forwarded-for': '203.0.113.61',
        },
      ),
    codes: UNAUTH,
    check: async (_o, ctx) => {
      const addresses = await throttledAddresses(ctx);
      expect(addresses).toContain('127.0.0.2');
      expect(addresses).not.toContain('203.0.113.61');
    },
  },
  {
    name: "gateway: a client's own X-Forwarded-For entry is not taken as its address",
    category: 'proxy trust',
    service: 'gateway',
    attack: (ctx) =>
      postFrom(
        '127.0.0.3',
        ctx.sys.gatewayPort,
        JSON.stringify({ query: LOGIN, variables: { e: ctx.bob.email, p: 'guess-2' } }),
        {
          'x-forwarded-for': '203.0.113.62',
        },
      ),
    codes: UNAUTH,
    check: async (_o, ctx) => {
      const addresses = await throttledAddresses(ctx);
      expect(addresses).toContain('127.0.0.3');
      expect(addresses).not.toContain('203.0.113.62');
    },
  },
  {
    name: 'subgraph-auth: IPv6 clients behind the gateway are counted by their /64',
    category: 'proxy trust',
    service: 'subgraph-auth',
    attack: (ctx) =>
      postFrom(
        '127.0.0.1',
        ctx.sys.authPort,
        JSON.stringify({ query: LOGIN, variables: { e: ctx.bob.email, p: 'guess-3' } }),
        {
          'x-forwarded-for': '2001:db8:61:62::7',
        },
      ),
    codes: UNAUTH,
    check: async (_o, ctx) => {
      const addresses = await throttledAddresses(ctx);
      expect(addresses).toContain('2001:db8:61:62::/64');
      expect(addresses).not.toContain('2001:db8:61:62::7');
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// 9. Coded errors where there were INTERNAL_SERVER_ERROR or 500.

const codedErrorCases: HostileCase[] = [
  {
    name: 'gateway: register with a NUL character in the name',
    category: 'coded errors',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', REGISTER, {
        n: '\u0000',
        e: `nul-${randomUUID()}@example.test`,
        p: 'a long enough password',
      }),
    codes: ['BAD_USER_INPUT'],
    field: 'name',
  },
  {
    name: 'gateway: login with a NUL character in the email',
    category: 'coded errors',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', LOGIN, { e: `${ctx.alice.email}\u0000`, p: ctx.alice.password }),
    codes: ['BAD_USER_INPUT'],
    field: 'email',
    // Refused before the throttle: no counter for this attempt.
    check: async (_o, ctx) => {
      const account = createHash('sha256').update(`${ctx.alice.email}\u0000`).digest('base64url');
      expect(
        await ctx.sys.db('auth.rate_limits').where('key', 'like', `%${account}%`).first(),
      ).toBeUndefined();
    },
  },
  ...ALL.map(
    (service): HostileCase => ({
      name: `${service}: a subscription operation`,
      category: 'coded errors',
      service,
      attack: (ctx) => gql(ctx, service, 'subscription { me { id } }', {}, ctx.alice.accessToken),
      status: [400],
      codes: ['BAD_REQUEST', 'GRAPHQL_VALIDATION_FAILED'],
    }),
  ),
  ...ALL.map(
    (service): HostileCase => ({
      name: `${service}: an APQ hash that does not match its query`,
      category: 'coded errors',
      service,
      attack: async (ctx) => {
        const query = '{ __typename }';
        const sha256Hash = createHash('sha256').update('{ somethingElse }').digest('hex');
        return outcomeOf(
          await ctx.sys.gql(query, {}, undefined, {
            service,
            body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
          }),
        );
      },
      status: [400],
      codes: ['BAD_REQUEST'],
    }),
  ),
  {
    name: 'subgraph-image: a validly signed token whose sub is not a UUID',
    category: 'coded errors',
    service: 'subgraph-image',
    attack: (ctx) =>
      gql(
        ctx,
        'subgraph-image',
        '{ myImages(first: 1) { totalCount } }',
        {},
        ctx.tokens.real({ sub: 'admin' }),
      ),
    codes: UNAUTH,
  },
  ...SUBGRAPHS.flatMap((service) =>
    [
      ['[{}]', [{}]],
      ['a __typename that is no entity', [{ __typename: 'Query' }]],
      ['a number', [42]],
      ['a User without its key', [{ __typename: 'User' }]],
    ].map(
      ([label, representations]): HostileCase => ({
        name: `${service}: _entities with malformed representations (${label})`,
        category: 'coded errors',
        service,
        attack: (ctx) => gql(ctx, service, ENTITIES, { r: representations }, ctx.alice.accessToken),
        codes: ['BAD_USER_INPUT'],
      }),
    ),
  ),
];

// ---------------------------------------------------------------------------------------------------
// 10. Token claims the signature does not vouch for, at each verifier.

const now = () => Math.floor(Date.now() / 1000);
const claimTokens: { label: string; make: (ctx: HostileContext) => string }[] = [
  { label: 'no exp claim', make: (c) => c.tokens.real({ sub: c.alice.userId, exp: undefined }) },
  {
    label: 'iat an hour in the future',
    make: (c) => c.tokens.real({ sub: c.alice.userId, iat: now() + 3600, exp: now() + 4000 }),
  },
  {
    label: 'a lifetime of a year',
    make: (c) => c.tokens.real({ sub: c.alice.userId, exp: now() + 365 * 86400 }),
  },
  {
    label: 'a crit header nobody understands',
    make: (c) =>
      c.tokens.real(
        { sub: c.alice.userId },
        { kid: c.tokens.kid, crit: ['x-imagehub-admin'], 'x-imagehub-admin': true },
      ),
  },
];

const probe = (service: ServiceName) =>
  service === 'subgraph-image' ? '{ myImages(first: 1) { totalCount } }' : '{ me { id } }';

const tokenClaimCases: HostileCase[] = [
  ...ALL.flatMap((service) =>
    claimTokens.map(
      (token): HostileCase => ({
        name: `${service}: access token with ${token.label} (real key)`,
        category: 'token claims',
        service,
        attack: (ctx) => gql(ctx, service, probe(service), {}, token.make(ctx)),
        codes: UNAUTH,
        check: (o) => expect(JSON.stringify(o.data ?? null)).not.toContain('"id"'),
      }),
    ),
  ),
  {
    name: 'gateway: crit-header token on an upload',
    category: 'token claims',
    service: 'gateway',
    attack: async (ctx) => outcomeOf(await ctx.sys.upload(await uniquePng(), claimTokens[3]!.make(ctx))),
    codes: UNAUTH,
  },
  ...(['gateway', 'subgraph-image'] as ServiceName[]).map(
    (service): HostileCase => ({
      name: `${service}: upload with the token of an account that no longer exists`,
      category: 'token claims',
      service,
      prepare: async (ctx) => {
        const gone = await ctx.sys.register({ name: 'Soon Gone' });
        await ctx.sys.db('auth.users').where({ id: gone.userId }).delete();
        return gone.accessToken;
      },
      attack: async (ctx, token) =>
        outcomeOf(await ctx.sys.upload(await uniquePng(), token as string, { service })),
      codes: UNAUTH,
    }),
  ),
];

// ---------------------------------------------------------------------------------------------------
// 12. Names: the filename rule.

const nameCases: HostileCase[] = [
  ...[
    ['only zero-width characters', '\u200b\u200c\u200d\u2060\ufeff'],
    ['only bidi overrides and controls', '\u202e\u2066\u0007\u001b'],
  ].map(
    ([label, name]): HostileCase => ({
      name: `gateway: register with a name of ${label}`,
      category: 'names',
      service: 'gateway',
      attack: (ctx) =>
        gql(ctx, 'gateway', REGISTER, {
          n: name,
          e: `names-${randomUUID()}@example.test`,
          p: 'a long enough password',
        }),
      codes: ['BAD_USER_INPUT'],
      field: 'name',
    }),
  ),
];

export const authHardeningCases: HostileCase[] = [
  ...trustBoundaryCases,
  ...metricsCases,
  ...proxyTrustCases,
  ...codedErrorCases,
  ...tokenClaimCases,
  ...nameCases,
];
