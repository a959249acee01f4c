import { pipeline } from 'node:stream/promises';
import { ErrorCode, type Logger, REQUEST_ID_HEADER } from '@imagehub/service-kit';
import type { Request, RequestHandler, Response } from 'express';
import type { Pool } from 'undici';
import type { GatewayMetrics } from '../metrics';
import { clientAddress } from './client-address';

/** Request headers the image route understands; nothing else of the client's goes upstream. */
const FORWARDED_REQUEST_HEADERS = [
  'if-none-match',
  'if-modified-since',
  'range',
  'if-range',
  REQUEST_ID_HEADER,
];

/** Response headers that describe the bytes; hop-by-hop and server-internal ones stay behind. */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'etag',
  'last-modified',
  'cache-control',
  'expires',
  'vary',
  'content-disposition',
  'x-content-type-options',
  'content-security-policy',
];

/**
 * `GET /images/*`: streams the image subgraph's answer through unchanged (status, caching
 * headers, body), so signed URLs work with only the gateway exposed.
 */
export function imageProxy(options: {
  pool: Pool;
  metrics: GatewayMetrics;
  logger: Logger;
  timeoutMs: number;
}): RequestHandler {
  return async (req: Request, res: Response) => {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const client = clientAddress(req);
    if (client) headers['x-forwarded-for'] = client;

    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const stopTimer = options.metrics.imageProxyDuration.startTimer();
    let upstream: Awaited<ReturnType<Pool['request']>>;
    try {
      upstream = await options.pool.request({
        method: req.method === 'HEAD' ? 'HEAD' : 'GET',
        path: req.originalUrl,
        headers,
        signal: controller.signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
    } catch (error) {
      stopTimer({ status: 'error' });
      if (controller.signal.aborted) return;
      options.logger.warn({ err: error }, 'image subgraph unreachable');
      res.status(503).json({
        errors: [
          {
            message: 'The image service is unavailable',
            extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
          },
        ],
      });
      return;
    }
    stopTimer({ status: String(upstream.statusCode) });
    res.status(upstream.statusCode);
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = upstream.headers[name];
      if (value !== undefined) res.setHeader(name, value);
    }
    try {
      await pipeline(upstream.body, res);
    } catch (error) {
      // The client left or the subgraph broke off mid-body; either way the response is already cut.
      if (!controller.signal.aborted) options.logger.warn({ err: error }, 'image response stream failed');
    }
  };
}
