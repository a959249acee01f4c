import { randomUUID } from 'node:crypto';
import http from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { ErrorCode } from './errors';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { REVOKED_SESSIONS_PATH } from './revocations';

export const REQUEST_ID_HEADER = 'x-request-id';
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Requests that get no access-log line: the probes, and the revocation list every gateway replica
 * polls once a second. Each would add a line per second per poller to the log and tell nothing a
 * metric does not (their durations and statuses are still counted).
 */
const UNLOGGED_PATHS = new Set(['/healthz', '/readyz', REVOKED_SESSIONS_PATH]);

/** Accepts a caller's request id when it is harmless to log and echo; otherwise makes one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && SAFE_REQUEST_ID.test(value) ? value : randomUUID();
}

export type ReadinessCheck = () => Promise<boolean>;

export interface BaseAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /** Dependencies that must answer before the service takes traffic (`/readyz`). */
  ready: ReadinessCheck;
  /** Set while shutting down, so `/readyz` turns false and load balancers stop sending work. */
  isDraining?: () => boolean;
  /** Only in development: Apollo's landing page loads its IDE from a CDN, which the default CSP forbids. */
  allowIdeAssets?: boolean;
}

/**
 * The Express app every service starts from: security headers, request ids, access logs,
 * latency metrics, and the probe endpoints (`/healthz`, `/readyz`). `/metrics` is not here: it
 * tells whoever asks the Node version, the subgraph names and the traffic, so it is served on a
 * port of its own (createMetricsServer) that only the scraper reaches.
 */
export function createBaseApp(options: BaseAppOptions): Express {
  const { logger, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders(options.allowIdeAssets ?? false));

  app.use((req: Request, res: Response, next: NextFunction) => {
    const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    req.headers[REQUEST_ID_HEADER] = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    const stopTimer = metrics.httpDuration.startTimer();
    res.once('finish', () => {
      stopTimer({ method: req.method, route: routeLabel(req), status: String(res.statusCode) });
    });
    next();
  });

  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => String(req.headers[REQUEST_ID_HEADER]),
      autoLogging: {
        ignore: (req) => UNLOGGED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
      serializers: {
        req: (req: { method: string; url: string; id: string }) => ({
          id: req.id,
          method: req.method,
          // Signed URLs carry their signature in the query string: log the path only.
          path: req.url.split('?')[0],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const draining = options.isDraining?.() ?? false;
    const ready = !draining && (await options.ready().catch(() => false));
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : draining ? 'draining' : 'unavailable' });
  });

  return app;
}

function securityHeaders(allowIdeAssets: boolean) {
  return helmet({
    contentSecurityPolicy: allowIdeAssets ? false : undefined,
    crossOriginEmbedderPolicy: false,
    // Signed image URLs are meant to be embedded by web apps on other origins.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
}

/**
 * `GET /metrics` (Prometheus text format) and nothing else, for a listener of its own: the
 * service's METRICS port, bound where only the scraper reaches it (loopback under `npm start`; in
 * Kubernetes a NetworkPolicy lets only the monitoring namespace in).
 */
export function createMetricsServer(metrics: ServiceMetrics): http.Server {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders(false));
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });
  app.use((_req, res) => {
    res.status(404).json({ errors: [{ message: 'Not found', extensions: { code: ErrorCode.NOT_FOUND } }] });
  });
  return http.createServer(app);
}

/** Closes a listener that may never have been started (tests that do not scrape). */
export function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The label of a request's route, from `originalUrl`: under a mount (`app.use('/graphql', ...)`)
 * Express shortens `req.path` to what follows the mount point, so `/graphql` would read as `/`.
 */
export function routeLabel(req: Pick<Request, 'originalUrl' | 'url'>): string {
  const path = (req.originalUrl || req.url).split('?')[0] ?? '';
  if (path.startsWith('/images/')) return '/images/*';
  if (path === '/graphql' || path === '/healthz' || path === '/readyz') return path;
  if (path.startsWith('/.well-known/')) return path;
  return 'other';
}

/**
 * What no route answered, body-parser and other request-level failures: answered in the GraphQL
 * error shape clients parse anyway, never as Express's HTML page ("Cannot GET ...", or one with a
 * stack trace). Mounted last, after every route.
 */
export function jsonErrorHandler(logger: Logger) {
  const noRoute = (_req: Request, res: Response) => {
    res.status(404).json({ errors: [{ message: 'Not found', extensions: { code: ErrorCode.NOT_FOUND } }] });
  };
  const handler = (
    error: Error & { status?: number; type?: string },
    req: Request,
    res: Response,
    next: NextFunction,
  ) => {
    if (res.headersSent) return next(error);
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500)
      ((req as Request & { log?: Logger }).log ?? logger).error({ err: error }, 'request failed');
    // A static file that is not there (404) or a path it refuses (403, e.g. `..`) says so.
    const [code, message] =
      status === 413
        ? [ErrorCode.PAYLOAD_TOO_LARGE, 'Request body too large']
        : status === 500
          ? [ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error']
          : status === 404
            ? [ErrorCode.NOT_FOUND, 'Not found']
            : status === 403
              ? [ErrorCode.FORBIDDEN, 'Forbidden']
              : ['BAD_REQUEST', error.type === 'entity.parse.failed' ? 'Malformed JSON body' : 'Bad request'];
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  };
  return [noRoute, handler];
}
