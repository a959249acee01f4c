import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';

/**
 * The page's policy: scripts, styles, images and API calls from this origin only (image URLs are
 * signed paths under /images/ here), nothing inline, no plugins, no framing, no foreign forms.
 */
export const WEB_APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Vite names these by content hash: a new build is a new name, so a year is safe. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Serves the built web app (web/dist): `/` is index.html, revalidated on every visit so a deploy
 * shows up at once; `/assets/*` are the hashed bundles, cached for good; other top-level files
 * (favicon) for an hour. Without a build, `/` says how to make one.
 */
export function webApp(dir: string): Router {
  const router = express.Router();
  const index = path.join(dir, 'index.html');
  const page = (_req: Request, res: Response) => {
    res.setHeader('Content-Security-Policy', WEB_APP_CSP);
    res.setHeader('Cache-Control', 'no-cache');
    if (!existsSync(index)) {
      res
        .status(404)
        .type('text/plain')
        .send('The web app is not built: run `npm run build -w @imagehub/web`.\n');
      return;
    }
    res.sendFile(index);
  };
  router.get(['/', '/index.html'], page);
  router.use(
    '/assets',
    express.static(path.join(dir, 'assets'), {
      index: false,
      fallthrough: false,
      setHeaders: (res) => res.setHeader('Cache-Control', IMMUTABLE),
    }),
  );
  router.get('/favicon.svg', (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.sendFile(path.join(dir, 'favicon.svg'), (error) => error && next());
  });
  return router;
}
