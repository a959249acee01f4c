import http from 'node:http';
import { listen } from '@imagehub/service-kit';
import { freePort, noisePng } from '@imagehub/test-kit';
import { createTestTokens, graphql, startImageService, uploadImage } from './test-support';

describe('ops endpoints and key loading', () => {
  it('is ready with a reachable database and static keys', async () => {
    const tokens = createTestTokens();
    const service = await startImageService({ publicKeys: tokens.jwks });
    try {
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    } finally {
      await service.close();
    }
  });

  it('stays ready with the broker unreachable: reads are served, uploads refused at once', async () => {
    const tokens = createTestTokens();
    const deadPort = await freePort();
    const service = await startImageService({
      publicKeys: tokens.jwks,
      env: { AMQP_URL: `amqp://guest:guest@127.0.0.1:${deadPort}` },
      worker: false,
    });
    try {
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      const token = tokens.mint(await service.createUser());
      const read = await graphql(service.url, '{ myImages { totalCount } }', {}, token);
      expect(read.data).toEqual({ myImages: { totalCount: 0 } });
      const upload = await uploadImage(service.url, token, noisePng(8, 8), 'later.png');
      expect(upload.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 5 });
    } finally {
      await service.close();
    }
  });

  it('is not ready while the database is unreachable', async () => {
    const tokens = createTestTokens();
    const deadPort = await freePort();
    const service = await startImageService({
      publicKeys: tokens.jwks,
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/nothing` },
    });
    try {
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
    } finally {
      await service.close();
    }
  });

  it('verifies tokens against the JWKS URL, and is ready only once the keys are loaded', async () => {
    const tokens = createTestTokens();
    let serveKeys = false;
    const jwks = http.createServer((_req, res) => {
      res.writeHead(serveKeys ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: serveKeys ? tokens.jwks : [] }));
    });
    const port = await listen(jwks, 0, '127.0.0.1');
    const service = await startImageService({
      publicKeys: [],
      env: { AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` },
    });
    try {
      expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
      serveKeys = true;
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      const result = await graphql(
        service.url,
        '{ myImages { totalCount } }',
        {},
        tokens.mint(await service.createUser()),
      );
      expect(result.data).toEqual({ myImages: { totalCount: 0 } });
    } finally {
      await service.close();
      await new Promise((resolve) => jwks.close(resolve));
    }
  });

  it('labels GraphQL requests with the /graphql route in /metrics', async () => {
    const service = await startImageService({ publicKeys: createTestTokens().jwks });
    try {
      await graphql(service.url, '{ _service { sdl } }');
      const metrics = await (await fetch(service.metricsUrl)).text();
      expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/graphql"[^}]*\} [1-9]/);
    } finally {
      await service.close();
    }
  });

  it('lets the gateway read the subgraph SDL without a token, and nothing else', async () => {
    const service = await startImageService({ publicKeys: createTestTokens().jwks });
    try {
      const sdl = await graphql<{ _service: { sdl: string } }>(service.url, '{ _service { sdl } }');
      expect(sdl.data?._service.sdl).toContain('uploadImage');
      const images = await graphql(service.url, '{ myImages { totalCount } }');
      expect(images.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await service.close();
    }
  });
});
