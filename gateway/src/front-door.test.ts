import http from 'node:http';
import { listen } from '@imagehub/service-kit';
import { uploadImage } from '@imagehub/subgraph-image/test-support';
import { type GraphQLResult, noisePng } from '@imagehub/test-kit';
import { createServer } from './app';
import { loadConfig } from './config';
import { PROJECT_QUERIES, reviewerQuery } from './test-support/queries';
import { gql, type RunningSystem, startSystem } from './test-support/system';

describe('the gateway front door', () => {
  let system: RunningSystem;

  beforeAll(async () => {
    system = await startSystem({
      recordAuthTraffic: true,
      // 127.0.0.5 stands for a reverse proxy on the gateway's host (the tests' clients use 127.0.0.1).
      gatewayEnv: { MAX_JSON_BODY_BYTES: '20000', GATEWAY_TRUST_PROXY: '127.0.0.5' },
    });
  });
  afterAll(async () => {
    await system?.close();
  });

  it('forwards Authorization, x-request-id and X-Forwarded-For to the subgraph over kept-alive connections', async () => {
    const user = await system.auth.registerUser();
    const proxy = system.authProxy!;
    const before = proxy.seen.length;
    const requestId = `test-${Date.now()}`;
    const first = await gql<{ me: { id: string } }>(system.gatewayUrl, '{ me { id } }', {
      token: user.accessToken,
      headers: { 'x-request-id': requestId, 'x-forwarded-for': '203.0.113.7' },
    });
    expect(first.errors).toBeUndefined();
    expect(first.data!.me.id).toBe(user.id);
    expect(first.headers.get('x-request-id')).toBe(requestId);

    const seen = proxy.seen.slice(before).filter((r) => r.url === '/graphql');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${user.accessToken}`);
    expect(seen[0]!.headers['x-request-id']).toBe(requestId);
    // The client's own X-Forwarded-For is not passed on: the subgraph trusts the gateway's address,
    // which a client on the gateway's host shares, and would take the client's entry as its address.
    expect(seen[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');

    // Without one, the gateway makes a request id, echoes it, and the subgraph gets the same.
    const second = await gql(system.gatewayUrl, '{ me { name } }', { token: user.accessToken });
    const generated = second.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const secondSeen = proxy.seen.filter((r) => r.url === '/graphql').at(-1)!;
    expect(secondSeen.headers['x-request-id']).toBe(generated);
    expect(secondSeen.headers['x-forwarded-for']).toBe('127.0.0.1');
    // Sequential requests reuse one kept-alive connection instead of opening a new one each time.
    expect(secondSeen.remotePort).toBe(seen[0]!.remotePort);
  });

  it('believes X-Forwarded-For only from a GATEWAY_TRUST_PROXY address, and forwards the client address alone', async () => {
    const user = await system.auth.registerUser();
    const proxy = system.authProxy!;
    const forwardedFrom = async (localAddress: string, forwardedFor: string) => {
      // node:http, not undici: undici does not bind its sockets to a local address.
      const answer = await new Promise<string>((resolve, reject) => {
        const outgoing = http.request(
          `${system.gatewayUrl}/graphql`,
          {
            method: 'POST',
            localAddress,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${user.accessToken}`,
              'x-forwarded-for': forwardedFor,
            },
          },
          (response) => {
            response.setEncoding('utf8');
            let text = '';
            response.on('data', (chunk: string) => {
              text += chunk;
            });
            response.on('end', () => resolve(text));
          },
        );
        outgoing.on('error', reject);
        outgoing.end(JSON.stringify({ query: '{ me { id } }' }));
      });
      expect(JSON.parse(answer)).toEqual({ data: { me: { id: user.id } } });
      return proxy.seen.filter((r) => r.url === '/graphql').at(-1)!.headers['x-forwarded-for'];
    };
    // From the listed proxy: the entry it appended is the client; what the client wrote before it is not.
    expect(await forwardedFrom('127.0.0.5', '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    // From anyone else, the same header changes nothing: the client is its socket address.
    expect(await forwardedFrom('127.0.0.6', '198.51.100.1, 203.0.113.9')).toBe('127.0.0.6');
  });

  it("answers a read's owner { name } from the caller's own `me` answer, and asks auth again when it must", async () => {
    const user = await system.auth.registerUser();
    expect(
      (await uploadImage(system.gatewayUrl, user.accessToken, noisePng(21, 20), 'a.png')).errors,
    ).toBeUndefined();
    const proxy = system.authProxy!;
    const authCalls = async (query: string) => {
      const before = proxy.seen.filter((r) => r.url === '/graphql').length;
      const result = await gql<{ me: Record<string, unknown> }>(system.gatewayUrl, query, {
        token: user.accessToken,
      });
      expect(result.errors).toBeUndefined();
      return { me: result.data!.me, calls: proxy.seen.filter((r) => r.url === '/graphql').length - before };
    };
    const owners = (me: Record<string, unknown>) =>
      (me.images as { edges: { node: { owner: unknown } }[] }).edges.map((e) => e.node.owner);

    // The federated read: auth `me`, image `images`, and no third trip for the owner, who is the caller.
    const read = await authCalls(
      '{ me { id name images(first: 20) { edges { node { id url owner { name } } } } } }',
    );
    expect(read.calls).toBe(1);
    expect(read.me.name).toBe(user.name);
    expect(owners(read.me)).toEqual([{ name: user.name }]);
    // Aliases are the client's: `name` standing for the email is not the name, so auth is asked.
    const aliased = await authCalls('{ me { id name: email images { edges { node { owner { name } } } } } }');
    expect(aliased.calls).toBe(2);
    expect(aliased.me.name).toBe(user.email);
    expect(owners(aliased.me)).toEqual([{ name: user.name }]);
    // A field the first answer did not carry is fetched as before.
    const more = await authCalls('{ me { name images { edges { node { owner { name email } } } } } }');
    expect(more.calls).toBe(2);
    expect(owners(more.me)).toEqual([{ name: user.name, email: user.email }]);
    const saved = await (await fetch(system.gatewayMetricsUrl)).text();
    expect(saved).toMatch(/gateway_subgraph_fetches_saved_total\{subgraph="auth"[^}]*\} [1-9]/);
  });

  it('refuses a depth bomb', async () => {
    let selection = 'id';
    for (let i = 0; i < 6; i++) selection = `images { edges { node { owner { ${selection} } } } }`;
    const result = await gql(system.gatewayUrl, `{ me { ${selection} } }`);
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^Query depth limit of 10 exceeded, found \d+\.$/),
    );
  });

  it('refuses an alias bomb and a directive bomb, without calling them syntax errors', async () => {
    const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: me { id }`).join(' ');
    const result = await gql(system.gatewayUrl, `{ ${aliases} }`);
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toBe('Aliases limit of 15 exceeded, found 50.');

    const directives = await gql(system.gatewayUrl, `{ me ${'@skip(if: false) '.repeat(30)}{ id } }`);
    expect(directives.status).toBe(400);
    expect(directives.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(directives.errors?.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^Directives limit of 20 exceeded, found \d+\.$/),
    );
  });

  describe('the cost limit (MAX_COST, 5000)', () => {
    let token: string;
    beforeAll(async () => {
      const user = await system.auth.registerUser();
      token = user.accessToken;
      expect((await uploadImage(system.gatewayUrl, token, noisePng(22, 20), 'c.png')).errors).toBeUndefined();
    });
    const refusedForCost = (result: GraphQLResult<unknown>, cost: number) => {
      expect(result.status).toBe(400);
      expect(result.data ?? null).toBeNull();
      expect(result.errors).toHaveLength(1);
      expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(result.errors?.[0]?.message).toMatch(
        new RegExp(`^Query cost limit of 5000 exceeded, found ${cost}:`),
      );
    };

    it("refuses the reviewer's query written with literals and written with variables alike", async () => {
      refusedForCost(await gql(system.gatewayUrl, `{ ${reviewerQuery('100')} }`, { token }), 50_401);
      const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: ${reviewerQuery('$f')}`).join(' ');
      const variables = await gql(system.gatewayUrl, `query($f: Int) { ${aliases} }`, {
        token,
        variables: { f: 100 },
      });
      refusedForCost(variables, 15 * 50_401);
      const one = await gql(system.gatewayUrl, `query($f: Int) { ${reviewerQuery('$f')} }`, {
        token,
        variables: { f: 100 },
      });
      refusedForCost(one, 50_401);
    });

    it('answers myImages(first: 1000) capped at 100, as a literal and as a variable', async () => {
      const page = 'edges { node { id } } pageInfo { hasNextPage }';
      const literal = await gql(system.gatewayUrl, `{ myImages(first: 1000) { ${page} } }`, { token });
      const variable = await gql(system.gatewayUrl, `query($f: Int) { myImages(first: $f) { ${page} } }`, {
        token,
        variables: { f: 1000 },
      });
      expect(literal.errors).toBeUndefined();
      expect(literal.status).toBe(200);
      expect(variable.errors).toBeUndefined();
      expect(variable.data).toEqual(literal.data);
      expect((literal.data as { myImages: { edges: unknown[] } }).myImages.edges).toHaveLength(1);
      // A variable of the wrong type is the executor's to refuse, as before.
      const wrong = await gql(system.gatewayUrl, 'query($f: Int) { myImages(first: $f) { totalCount } }', {
        token,
        variables: { f: 'many' },
      });
      expect(wrong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it("answers the project's own queries: journey, web app, bench, k6, locust, README", async () => {
      for (const [name, query] of Object.entries(PROJECT_QUERIES)) {
        const result = await gql(system.gatewayUrl, query, { token, variables: { first: 24, after: null } });
        expect({ name, errors: result.errors }).toEqual({ name, errors: undefined });
      }
    });

    it('answers an operation costing 5000 and refuses one costing 5001', async () => {
      // The web app's gallery page: 1 + first × 15.
      const gallery = (first: number) =>
        `myImages(first: ${first}) { totalCount edges { node { id filename contentType byteSize width height url thumbnailUrl createdAt } } pageInfo { hasNextPage endCursor } }`;
      const pages = `a: ${gallery(100)} b: ${gallery(100)} c: ${gallery(100)} d: ${gallery(33)}`;
      const under = await gql(system.gatewayUrl, `{ ${pages} __typename }`, { token });
      expect(under.errors).toBeUndefined();
      refusedForCost(await gql(system.gatewayUrl, `{ ${pages} me { id } }`, { token }), 5001);
    });
  });

  it('refuses a token flood and an overlong JSON body', async () => {
    const fields = Array.from({ length: 1200 }, () => 'id').join(' ');
    const tokens = await gql(system.gatewayUrl, `{ me { ${fields} } }`);
    expect(tokens.status).toBe(400);
    expect(tokens.errors?.[0]?.message).toMatch(/more that 1000 tokens/i);

    const huge = await gql(system.gatewayUrl, '{ me { id } }', {
      variables: { padding: 'x'.repeat(30_000) },
    });
    expect(huge.status).toBe(413);
    expect(huge.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 400, not 500, when the operation to run is ambiguous or unknown', async () => {
    const document = 'query A { me { id } } query B { me { name } }';
    const ambiguous = await gql(system.gatewayUrl, document);
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    const response = await fetch(`${system.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: document, operationName: 'C' }),
    });
    expect(response.status).toBe(400);
  });

  it('does not execute batched requests', async () => {
    const response = await fetch(`${system.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/batch/i);
  });

  it('answers UNAUTHENTICATED from the subgraph with its contract code', async () => {
    const result = await gql(system.gatewayUrl, '{ me { id } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('serves the IDE and introspection in development', async () => {
    await expectIde(system.gatewayUrl);
    const introspection = await gql<{ __schema: { queryType: { name: string } } }>(
      system.gatewayUrl,
      '{ __schema { queryType { name } types { name fields { name } } } }',
    );
    expect(introspection.data?.__schema.queryType.name).toBe('Query');
  });

  it('exposes health, readiness and, on a port of its own, Prometheus metrics incl. subgraph fetch latency', async () => {
    expect((await fetch(`${system.gatewayUrl}/metrics`)).status).not.toBe(200);
    expect((await fetch(`${system.gatewayUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${system.gatewayUrl}/readyz`)).status).toBe(200);
    await gql(system.gatewayUrl, '{ me { id } }');
    const metrics = await (await fetch(system.gatewayMetricsUrl)).text();
    expect(metrics).toMatch(/gateway_subgraph_fetch_duration_seconds_count\{[^}]*subgraph="auth"/);
    expect(metrics).toMatch(/graphql_errors_total\{[^}]*code="UNAUTHENTICATED"/);
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/graphql"/);
    expect(metrics).toMatch(/gateway_upload_bytes_total/);
  });

  it('answers CORS only for configured origins (none by default)', async () => {
    const preflight = (url: string, origin: string) =>
      fetch(`${url}/graphql`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const byDefault = await preflight(system.gatewayUrl, 'https://app.example');
    expect(byDefault.headers.get('access-control-allow-origin')).toBeNull();

    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      CORS_ORIGINS: 'https://app.example',
      AUTH_SUBGRAPH_URL: system.gatewayConfig.subgraphs.auth,
      IMAGE_SUBGRAPH_URL: system.gatewayConfig.subgraphs.image,
    });
    const withCors = await createServer(config);
    const port = await listen(withCors.httpServer, 0, '127.0.0.1');
    try {
      const allowed = await preflight(`http://127.0.0.1:${port}`, 'https://app.example');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      const other = await preflight(`http://127.0.0.1:${port}`, 'https://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await new Promise<void>((resolve) => withCors.httpServer.close(() => resolve()));
      await withCors.close();
    }
  });

  describe('in production', () => {
    it('hides the IDE, introspection, suggestions and stack traces', async () => {
      const config = loadConfig({
        NODE_ENV: 'production',
        LOG_LEVEL: 'silent',
        AUTH_SUBGRAPH_URL: system.gatewayConfig.subgraphs.auth,
        IMAGE_SUBGRAPH_URL: system.gatewayConfig.subgraphs.image,
      });
      const production = await createServer(config);
      const port = await listen(production.httpServer, 0, '127.0.0.1');
      const url = `http://127.0.0.1:${port}`;
      try {
        await expectNoIde(url);

        const introspection = await gql(url, '{ __schema { queryType { name } } }');
        expect(introspection.data ?? null).toBeNull();
        expect(introspection.errors?.[0]?.message).toMatch(/introspection/i);

        const typo = await gql(url, '{ me { emial } }');
        expect(typo.errors?.[0]?.message).not.toMatch(/did you mean/i);

        const failing = await gql(url, '{ me { id } }', { token: 'not-a-token' });
        for (const error of failing.errors ?? []) expect(error.extensions?.stacktrace).toBeUndefined();
        const development = await gql(system.gatewayUrl, '{ me { emial } }');
        expect(development.errors?.[0]?.message).toMatch(/did you mean/i);
      } finally {
        await new Promise<void>((resolve) => production.httpServer.close(() => resolve()));
        await production.close();
      }
    });

    it('serves the IDE and introspection when GRAPHQL_IDE=true, and still hides the rest', async () => {
      await withGateway(system, { NODE_ENV: 'production', GRAPHQL_IDE: 'true' }, async (url) => {
        await expectIde(url);
        const typo = await gql(url, '{ me { emial } }');
        expect(typo.errors?.[0]?.message).not.toMatch(/did you mean/i);
      });
    });
  });

  it('GRAPHQL_IDE=false turns the IDE off in development too', async () => {
    await withGateway(system, { NODE_ENV: 'development', GRAPHQL_IDE: 'false' }, expectNoIde);
  });
});

/** A gateway of its own with `env` (in front of the same subgraphs), for `check`, then closed. */
async function withGateway(
  system: RunningSystem,
  env: Record<string, string>,
  check: (url: string) => Promise<void>,
) {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    AUTH_SUBGRAPH_URL: system.gatewayConfig.subgraphs.auth,
    IMAGE_SUBGRAPH_URL: system.gatewayConfig.subgraphs.image,
    ...env,
  });
  const server = await createServer(config);
  const port = await listen(server.httpServer, 0, '127.0.0.1');
  try {
    await check(`http://127.0.0.1:${port}`);
  } finally {
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
    await server.close();
  }
}

/** The IDE page, its own files from this origin under a policy that allows no other, and the introspection it needs. */
async function expectIde(url: string) {
  const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toMatch(/AltairGraphQL\.init/);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toMatch(/default-src 'self'/);
  expect(csp).toMatch(/connect-src 'self'/);
  // Every script the page loads is one of ours, by relative path under the IDE's base.
  expect(html).toMatch(/<base href="\/graphql\/ide\/">/);
  expect(html).not.toMatch(/<script[^>]+src="(https?:)?\/\//);
  const script = await fetch(`${url}/graphql/ide/main.js`);
  expect(script.status).toBe(200);
  expect(script.headers.get('content-type')).toMatch(/javascript/);
  const introspection = await gql<{ __schema: { queryType: { name: string } } }>(
    url,
    '{ __schema { queryType { name } types { name fields { name } } } }',
  );
  expect(introspection.data?.__schema.queryType.name).toBe('Query');
}

async function expectNoIde(url: string) {
  const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
  expect(await page.text()).not.toMatch(/altair|sandbox/i);
  expect((await fetch(`${url}/graphql/ide/main.js`)).status).toBe(404);
  const introspection = await gql(url, '{ __schema { queryType { name } } }');
  expect(introspection.data ?? null).toBeNull();
  expect(introspection.errors?.[0]?.message).toMatch(/introspection/i);
}
