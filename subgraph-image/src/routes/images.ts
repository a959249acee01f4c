import type { Logger } from '@imagehub/service-kit';
import { isUuid } from '@imagehub/service-kit';
import { type Request, type Response, Router } from 'express';
import { isImageVariant, type UrlSigner } from '../signing';
import type { ImageStore } from '../store/image-store';
import { contentDisposition, thumbnailFilename } from '../upload/filename';

/**
 * GET /images/:id/:variant?exp=&sig= serves the bytes behind a signed URL. The signature is the only
 * credential (no Authorization header, so `<img src>` works) and is checked before the database is
 * touched. 403 for a bad or expired signature, 404 for an image that no longer exists.
 */
export function imageRoutes(deps: { images: ImageStore; signer: UrlSigner; logger: Logger }): Router {
  const router = Router();
  router.get('/images/:id/:variant', async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const variant = String(req.params.variant);
    const check = deps.signer.verify(id, variant, req.query.exp, req.query.sig);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (!check.valid) {
      res
        .status(403)
        .type('text/plain')
        .send(check.reason === 'expired' ? 'Link expired' : 'Invalid signature');
      return;
    }
    if (!isUuid(id) || !isImageVariant(variant)) {
      res.status(404).type('text/plain').send('Not found');
      return;
    }
    const found = await deps.images.findVariant(id.toLowerCase(), variant);
    if (!found) {
      res.status(404).type('text/plain').send('Not found');
      return;
    }
    const { image, blob } = found;
    const etag = `"${blob.sha256}"`;
    // Never cached past the signature's life: a cache must not keep serving a link that has expired.
    const maxAge = Math.max(0, check.expiresAt - deps.signer.nowSec());
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', `private, max-age=${maxAge}`);
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    if (etagMatches(req.headers['if-none-match'], blob.sha256)) {
      res.status(304).end();
      return;
    }
    const filename = variant === 'original' ? image.filename : thumbnailFilename(image.filename);
    res.setHeader('Content-Type', blob.contentType);
    res.setHeader('Content-Length', String(blob.bytes.length));
    res.setHeader('Content-Disposition', contentDisposition(filename));
    res.status(200).end(req.method === 'HEAD' ? undefined : blob.bytes);
  });
  return router;
}

/** If-None-Match is a list of entity tags (weak ones compare equal for GET) or `*`. */
function etagMatches(header: string | undefined, sha256: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const value = tag.trim().replace(/^W\//, '');
    return value === '*' || value === `"${sha256}"`;
  });
}
