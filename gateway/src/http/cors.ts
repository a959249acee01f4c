import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * CORS for the configured browser origins only; with none configured the API is same-origin
 * (no CORS headers at all), which is the safe default for a cookie-less bearer-token API.
 */
export function corsFor(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (!origin || !allowed.has(origin)) return next();
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.append('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'x-request-id, etag');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader(
        'Access-Control-Allow-Headers',
        'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id, if-none-match',
      );
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
