import { randomBytes } from 'node:crypto';
import { getDistDirectory, type RenderOptions, renderAltair } from 'altair-static';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';

/** Where the IDE's own files are served from: under /graphql, so an ingress that routes /graphql routes them too. */
export const IDE_ASSETS_PATH = '/graphql/ide';

/** What the IDE opens with: the journey from an account to an upload, one operation per step. */
const IDE_DOCUMENT = `# 1. Run Register (or Login).
# 2. Put the accessToken into the Authorization header (Headers: "Bearer <accessToken>").
# 3. Run Me. 4. Pick a file for $file (Variables: "Add files") and run Upload.
mutation Register {
  register(name: "Ada", email: "ada@example.com", password: "correct horse battery staple") {
    accessToken
    refreshToken
    expiresIn
    user { id name email }
  }
}

mutation Login {
  login(email: "ada@example.com", password: "correct horse battery staple") {
    accessToken
    refreshToken
  }
}

query Me {
  me { id name email images(first: 20) { totalCount edges { node { id filename url thumbnailUrl } } } }
}

mutation Upload($file: Upload!) {
  uploadImage(file: $file) { id filename contentType width height url thumbnailUrl }
}
`;

/**
 * Altair, from the altair-static package, which ships the whole IDE prebuilt: every script, style,
 * font and image comes from this gateway, nothing from a CDN. Altair's cloud account, plugin
 * loading and update checks are off, so the page talks to this origin only, and the page's CSP
 * (`connect-src 'self'` and friends) holds it to that should a future version try otherwise.
 *
 * Uploads: Altair sends files as GraphQL multipart requests (Variables → Add files). The CSRF
 * preflight header is preset, so they pass Apollo's CSRF prevention without the user knowing it exists.
 */
function renderIde(nonce: string): string {
  const options: RenderOptions = {
    baseURL: `${IDE_ASSETS_PATH}/`,
    // Relative, so the IDE follows whatever origin (and proxy) the page was loaded through.
    endpointURL: '/graphql',
    initialName: 'imagehub',
    initialQuery: IDE_DOCUMENT,
    initialHeaders: {
      Authorization: 'Bearer <accessToken from Register or Login>',
      'Apollo-Require-Preflight': 'true',
    },
    initialSettings: {
      'alert.disableUpdateNotification': true,
      'banners.disable': true,
      disablePushNotification: true,
      enableExperimental: false,
      'plugin.list': [],
      'schema.reloadOnStart': true,
    },
    disableAccount: true,
    instanceStorageNamespace: 'imagehub',
    cspNonce: nonce,
  };
  return renderAltair(options);
}

/** The IDE page's policy: this origin only; the inline start-up script by nonce; Angular's inline styles. */
function ideContentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
  ].join('; ');
}

/** A browser asking for a page (not a GraphQL GET, which carries `query`). */
export function wantsIdePage(req: Request): boolean {
  return (
    req.method === 'GET' && req.query.query === undefined && Boolean(req.accepts(['json', 'html']) === 'html')
  );
}

/** `GET /graphql` from a browser: the IDE page. Anything else goes on to GraphQL. */
export function idePage() {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!wantsIdePage(req)) {
      next();
      return;
    }
    const nonce = randomBytes(16).toString('base64');
    res.setHeader('Content-Security-Policy', ideContentSecurityPolicy(nonce));
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(renderIde(nonce));
  };
}

/** The IDE's static files, as shipped in the package; content-hashed names, so they may be cached. */
export function ideAssets(): Router {
  const router = express.Router();
  router.use(
    express.static(getDistDirectory(), {
      index: false,
      fallthrough: false,
      maxAge: '1d',
      setHeaders: (res, filePath) => {
        // Altair runs user scripts in this frame; the package asks for it to be sandboxed.
        if (filePath.includes('iframe-sandbox'))
          res.setHeader('Content-Security-Policy', 'sandbox allow-scripts');
      },
    }),
  );
  return router;
}
