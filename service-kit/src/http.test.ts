import { createServer, type Server } from 'node:http';
import type { Request, Response } from 'express';
import {
  closeServer,
  createBaseApp,
  createMetricsServer,
  jsonErrorHandler,
  requestIdFrom,
  routeLabel,
} from './http';
import { listen, shutdownGracefully } from './lifecycle';
import { createLogger } from './logger';
import { createMetrics } from './metrics';

const logger = createLogger('test', 'silent');

async function start(ready: () => Promise<boolean>, extra?: (app: ReturnType<typeof createBaseApp>) => void) {
  let draining = false;
  const metrics = createMetrics('test');
  const app = createBaseApp({ logger, metrics, ready, isDraining: () => draining });
  extra?.(app);
  const server = createServer(app);
  const port = await listen(server, 0);
  return { server, metrics, base: `http://127.0.0.1:${port}`, drain: () => (draining = true) };
}

describe('createBaseApp', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('answers /healthz without checking dependencies and /readyz from the check', async () => {
    let dbUp = false;
    const running = await start(async () => dbUp);
    server = running.server;
    expect((await fetch(`${running.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${running.base}/readyz`)).status).toBe(503);
    dbUp = true;
    expect((await fetch(`${running.base}/readyz`)).status).toBe(200);
    running.drain();
    const draining = await fetch(`${running.base}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: 'draining' });
  });

  it('turns a throwing readiness check into 503, not a crash', async () => {
    const running = await start(async () => {
      throw new Error('db down');
    });
    server = running.server;
    expect((await fetch(`${running.base}/readyz`)).status).toBe(503);
    expect((await fetch(`${running.base}/healthz`)).status).toBe(200);
  });

  it('echoes a safe x-request-id, replaces an unsafe one, and sets security headers', async () => {
    const running = await start(async () => true);
    server = running.server;
    const kept = await fetch(`${running.base}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await fetch(`${running.base}/healthz`, {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(kept.headers.get('x-content-type-options')).toBe('nosniff');
    expect(kept.headers.get('x-powered-by')).toBeNull();
  });

  it('answers an error by its status: 404 NOT_FOUND, 403 FORBIDDEN, 413 PAYLOAD_TOO_LARGE, other 4xx BAD_REQUEST', async () => {
    const running = await start(
      async () => true,
      (app) => {
        app.get('/fail/:status', (req, _res, next) =>
          next(Object.assign(new Error('from a handler'), { status: Number(req.params.status) })),
        );
        app.use(jsonErrorHandler(logger));
      },
    );
    server = running.server;
    for (const [status, code] of [
      [404, 'NOT_FOUND'],
      [403, 'FORBIDDEN'],
      [413, 'PAYLOAD_TOO_LARGE'],
      [400, 'BAD_REQUEST'],
      [415, 'BAD_REQUEST'],
    ] as const) {
      const response = await fetch(`${running.base}/fail/${status}`);
      expect(response.status).toBe(status);
      expect(
        ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions
          .code,
      ).toBe(code);
    }
    // A path no route serves: JSON too, not Express's "Cannot GET" page.
    for (const method of ['GET', 'POST', 'DELETE']) {
      const response = await fetch(`${running.base}/images/x/y/z`, { method });
      expect([method, response.status, response.headers.get('content-type')]).toEqual([
        method,
        404,
        'application/json; charset=utf-8',
      ]);
      expect(await response.json()).toEqual({
        errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }],
      });
    }
  });

  it('serves Prometheus metrics on a listener of its own, not on the service port', async () => {
    const running = await start(async () => true);
    server = running.server;
    await fetch(`${running.base}/healthz`);
    expect((await fetch(`${running.base}/metrics`)).status).toBe(404);
    const metricsServer = createMetricsServer(running.metrics);
    const port = await listen(metricsServer, 0, '127.0.0.1');
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/metrics`);
      const body = await answer.text();
      expect(body).toContain('http_request_duration_seconds_bucket');
      expect(body).toContain('route="/healthz"');
      expect(body).toContain('process_resident_memory_bytes');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await fetch(`http://127.0.0.1:${port}/graphql`)).status).toBe(404);
    } finally {
      await closeServer(metricsServer);
    }
  });

  it('labels a route mounted with app.use by its full path, not the rest after the mount', async () => {
    const running = await start(
      async () => true,
      (app) => app.use('/graphql', (_req, res) => res.json({ data: null })),
    );
    server = running.server;
    await fetch(`${running.base}/graphql?query=x`);
    const metricsServer = createMetricsServer(running.metrics);
    const port = await listen(metricsServer, 0, '127.0.0.1');
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await closeServer(metricsServer);
    expect(body).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/graphql"/);
    expect(body).not.toMatch(/http_request_duration_seconds_count\{[^}]*route="other"/);
  });
});

describe('routeLabel', () => {
  it('names the known routes and folds the rest', () => {
    expect(routeLabel({ originalUrl: '/graphql?query=%7B__typename%7D', url: '/?query=x' })).toBe('/graphql');
    expect(routeLabel({ originalUrl: '/images/abc/thumb?sig=x', url: '/abc/thumb' })).toBe('/images/*');
    expect(routeLabel({ originalUrl: '/.well-known/jwks.json', url: '/' })).toBe('/.well-known/jwks.json');
    expect(routeLabel({ originalUrl: '/wp-admin', url: '/wp-admin' })).toBe('other');
  });
});

describe('requestIdFrom', () => {
  it('keeps ids made of safe characters only', () => {
    expect(requestIdFrom('req.1:2_3-4')).toBe('req.1:2_3-4');
    expect(requestIdFrom('x'.repeat(129))).not.toBe('x'.repeat(129));
    expect(requestIdFrom(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('shutdownGracefully', () => {
  it('lets an in-flight request finish, refuses new connections, then runs onClosed', async () => {
    const events: string[] = [];
    const slow = heldRequest();
    const running = await start(
      async () => true,
      (app) => app.get('/slow', slow.handler),
    );
    const inflight = fetch(`${running.base}/slow`).then((r) => r.text());
    await slow.arrived;
    const shutdown = shutdownGracefully({
      server: running.server,
      logger,
      drainMs: 5_000,
      onDraining: () => events.push('draining'),
      onClosed: async () => {
        events.push('closed');
      },
    });
    // close() has stopped the listener: a new connection is refused while /slow is still open.
    expect(running.server.listening).toBe(false);
    await expect(fetch(`${running.base}/healthz`)).rejects.toThrow();
    expect(events).toEqual(['draining']);
    slow.release('done');
    expect(await inflight).toBe('done');
    await shutdown;
    expect(events).toEqual(['draining', 'closed']);
  });

  it('cuts connections that outlive the drain time', async () => {
    const never = heldRequest();
    const running = await start(
      async () => true,
      (app) => app.get('/never', never.handler),
    );
    const hanging = fetch(`${running.base}/never`).catch((error: unknown) => error);
    await never.arrived;
    await shutdownGracefully({ server: running.server, logger, drainMs: 200, onClosed: async () => {} });
    expect(await hanging).toHaveProperty('message', 'fetch failed');
  });
});

/** A route that answers only when the test says so; `arrived` resolves once a request is in it. */
function heldRequest() {
  let arrive: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  let answer: ((body: string) => void) | undefined;
  return {
    arrived,
    handler: (_req: Request, res: Response) => {
      answer = (body) => res.send(body);
      arrive();
    },
    release: (body: string) => answer?.(body),
  };
}
