import { generateKeyPairSync } from 'node:crypto';
import { createScratchDatabase } from '@imagehub/db/test-support';
import { type StartedAuthService, startAuthService } from './test-support';

const productionKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth.close();
});

describe('ops endpoints', () => {
  it('/healthz answers without dependencies and /readyz checks the database', async () => {
    expect((await fetch(`${auth.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${auth.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('/readyz is 503 when the database cannot be reached', async () => {
    const orphan = await startAuthService({ databaseUrl: 'postgres://nobody@127.0.0.1:1/nothing' });
    try {
      expect((await fetch(`${orphan.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${orphan.url}/readyz`)).status).toBe(503);
    } finally {
      await orphan.close();
    }
  });

  it('/metrics (on its own port, not the service port) counts GraphQL operations and errors by code', async () => {
    expect((await fetch(`${auth.url}/metrics`)).status).toBe(404);
    await auth.graphql(
      'mutation Login { login(email: "x@example.test", password: "wrong-password") { accessToken } }',
    );
    const metrics = await (await fetch(auth.metricsUrl)).text();
    expect(metrics).toMatch(/graphql_operation_duration_seconds_count\{[^}]*operation="Login"/);
    expect(metrics).toMatch(/graphql_errors_total\{[^}]*code="UNAUTHENTICATED"/);
  });

  it('/metrics labels GraphQL requests with the /graphql route', async () => {
    await auth.graphql('{ __typename }');
    const metrics = await (await fetch(auth.metricsUrl)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/graphql"[^}]*\} [1-9]/);
  });

  it('echoes a request id', async () => {
    const response = await fetch(`${auth.url}/healthz`, { headers: { 'x-request-id': 'req-123' } });
    expect(response.headers.get('x-request-id')).toBe('req-123');
  });
});

describe('GraphQL over HTTP', () => {
  it('refuses cross-site simple requests (CSRF prevention)', async () => {
    const simpleGet = await fetch(`${auth.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`);
    expect(simpleGet.status).toBe(400);
    const textPost = await fetch(auth.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(textPost.status).toBe(400);
    const preflighted = await fetch(`${auth.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(preflighted.status).toBe(200);
  });

  it('does not run mutations over GET', async () => {
    const query = encodeURIComponent('mutation { logout(refreshToken: "x") }');
    const response = await fetch(`${auth.graphqlUrl}?query=${query}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(405);
  });

  it('answers an oversized body with 413 as JSON, without a stack trace', async () => {
    const response = await fetch(auth.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(200_000) } }),
    });
    expect(response.status).toBe(413);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({
      errors: [{ message: 'Request body too large', extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });

  it('answers malformed JSON with 400 as JSON', async () => {
    const response = await fetch(auth.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
    expect(
      ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
    ).toBe('BAD_REQUEST');
  });

  it('allows introspection outside production', async () => {
    const result = await auth.graphql('{ __schema { queryType { name } } }');
    expect(result.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});

describe('in production', () => {
  let production: StartedAuthService;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  beforeAll(async () => {
    // An empty database (no tables): every query fails with an SQL error the client must never see.
    scratch = await createScratchDatabase();
    production = await startAuthService({
      databaseUrl: scratch.url,
      env: { NODE_ENV: 'production', JWT_PRIVATE_KEYS: productionKey },
    });
  });
  afterAll(async () => {
    await production.close();
    await scratch.drop();
  });

  it('disables introspection', async () => {
    const result = await production.graphql('{ __schema { queryType { name } } }');
    expect(result.data).toBeUndefined();
    expect(result.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('maps unexpected errors to INTERNAL_SERVER_ERROR without SQL or stack traces', async () => {
    const results = [
      await production.graphql(
        'mutation { login(email: "a@example.test", password: "some password") { accessToken } }',
      ),
      await production.graphql(
        'mutation { register(name: "A", email: "a@example.test", password: "some long password") { accessToken } }',
      ),
      await production.graphql(
        'query { _entities(representations: [{__typename: "User", id: "00000000-0000-4000-8000-000000000000"}]) { ... on User { id } } }',
      ),
    ];
    for (const result of results) {
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      const text = JSON.stringify(result);
      expect(text).not.toMatch(/select|insert|relation|auth\.|rate_limits|stacktrace|\.ts:/i);
    }
  });

  it('still gives validation errors their code and field, without a stack trace', async () => {
    const result = await production.graphql(
      'mutation { register(name: "A", email: "not-an-email", password: "some long password") { accessToken } }',
    );
    expect(result.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
  });
});
