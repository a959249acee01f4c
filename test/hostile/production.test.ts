/**
 * The system as it runs in production (NODE_ENV=production, keys supplied through the environment):
 * CORS from configuration, security headers on every answer, and error answers that carry no stack
 * traces, file paths or SQL, whatever the failure.
 */

import { createScratchDatabase } from '@imagehub/db/test-support';
import { codesOf, htmlAsPng } from '@imagehub/test-kit';
import { uniquePng } from '../support/images';
import {
  type AuthSession,
  missingSecurityHeaders,
  SERVICES,
  type ServiceName,
  System,
} from '../support/system';

const ALLOWED_ORIGIN = 'https://app.example.test';

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let sys: System;
let user: AuthSession;

beforeAll(async () => {
  scratch = await createScratchDatabase();
  sys = await System.start({
    database: { url: scratch.url },
    nodeEnv: 'production',
    logLevel: 'info',
    env: { gateway: { CORS_ORIGINS: `${ALLOWED_ORIGIN},https://admin.example.test` } },
  });
  user = await sys.register();
}, 180_000);

afterAll(async () => {
  await sys?.stop();
  await scratch?.drop();
});

/** What must never reach a client: stack frames, source paths, SQL, driver errors. */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/stacktrace/i);
  expect(text).not.toMatch(/\bat .+:\d+:\d+/);
  expect(text).not.toMatch(/node_modules|\/work\/|\.ts:\d+/);
  expect(text).not.toMatch(/\b(select|insert into|update .+ set|delete from)\b.+\b(from|values|where)\b/i);
  expect(text).not.toMatch(
    /syntax error at or near|relation ".+" does not exist|violates .+ constraint|ECONNREFUSED/i,
  );
}

describe('production mode', () => {
  const post = (service: ServiceName, body: string, headers: Record<string, string> = {}) =>
    sys.request(service, '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  test.each(SERVICES)('%s: error answers carry no stack trace, path or SQL', async (service) => {
    const answers = await Promise.all([
      post(service, '{"query": "{ me { id } }", "variables": {'),
      post(service, JSON.stringify({ query: '{ me { id nonsense } }' }), {
        authorization: `Bearer ${user.accessToken}`,
      }),
      post(service, JSON.stringify({ query: '{ me { id ' })),
      post(service, JSON.stringify({ query: '{ me { id } }' }), { authorization: 'Bearer x.y.z' }),
      post(service, JSON.stringify({ query: 'query A { me { id } } query B { me { id } }' })),
      post(
        service,
        JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } }),
      ),
      post(
        service,
        JSON.stringify({
          query: 'query($id: ID!) { image(id: $id) { id } }',
          variables: { id: "1' or '1'='1" },
        }),
        {
          authorization: `Bearer ${user.accessToken}`,
        },
      ),
      sys.request(service, '/no-such-route'),
    ]);
    for (const answer of answers) {
      const text = await answer.text();
      // A client's mistake is never the server's error.
      if (answer.status >= 500) throw new Error(`${answer.status} for a client error: ${text.slice(0, 300)}`);
      expectNoInternals(text);
    }
  });

  test('gateway: upload refusals and login failures carry no internals', async () => {
    const refused = await sys.upload(htmlAsPng(), user.accessToken, { filename: 'x.png' });
    expect(codesOf(refused)).toEqual(['BAD_USER_INPUT']);
    expectNoInternals(refused.text);
    const login = await sys.gql(
      'mutation { login(email: "nobody@example.test", password: "wrong password 1") { accessToken } }',
    );
    expect(codesOf(login)).toEqual(['UNAUTHENTICATED']);
    expectNoInternals(login.text);
    const ok = await sys.uploadOk(await uniquePng(), user.accessToken);
    expect(ok.id).toBeTruthy();
  });

  test('gateway: introspection and the IDE are off', async () => {
    const introspection = await sys.gql('{ __schema { types { name } } }');
    expect(introspection.data?.__schema).toBeUndefined();
    expect(codesOf(introspection)).toContain('GRAPHQL_VALIDATION_FAILED');
    const page = await sys.request('gateway', '/graphql', { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/sandbox|embeddable|apollo-server-landing-page|altair/i);
  });

  test('gateway: CORS answers the configured origins only', async () => {
    const preflight = (origin: string) =>
      sys.request('gateway', '/graphql', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const allowed = await preflight(ALLOWED_ORIGIN);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    const other = await preflight('https://evil.example.test');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const simple = (origin: string) =>
      post('gateway', JSON.stringify({ query: '{ me { id } }' }), {
        origin,
        authorization: `Bearer ${user.accessToken}`,
      });
    expect((await simple(ALLOWED_ORIGIN)).headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    const evil = await simple('https://evil.example.test');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('access-control-allow-credentials')).toBeNull();
  });

  test('security headers on every answer of every service, ops endpoints included', async () => {
    for (const service of SERVICES) {
      for (const path of ['/healthz', '/readyz', '/metrics', '/graphql?query=%7B__typename%7D']) {
        const response = await sys.request(service, path, { headers: { 'apollo-require-preflight': '1' } });
        await response.arrayBuffer();
      }
    }
    const jwks = await sys.request('subgraph-auth', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    const image = await sys.uploadOk(await uniquePng(), user.accessToken);
    const served = await sys.request('gateway', new URL(image.url).pathname + new URL(image.url).search);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-security-policy')).toMatch(/default-src 'none'/);

    expect(missingSecurityHeaders(sys.answers)).toEqual([]);
  });

  test('logs hold no password or token used here', () => {
    const logs = sys.allLogs();
    const leaked = [...sys.secrets].filter((secret) => secret.length >= 8 && logs.includes(secret));
    expect(leaked.map((s) => `${s.slice(0, 12)}…`)).toEqual([]);
  });
});
