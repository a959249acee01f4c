import { createHmac, timingSafeEqual } from 'node:crypto';

export const IMAGE_VARIANTS = ['original', 'thumbnail'] as const;
export type ImageVariant = (typeof IMAGE_VARIANTS)[number];

export function isImageVariant(value: string): value is ImageVariant {
  return (IMAGE_VARIANTS as readonly string[]).includes(value);
}

export type SignatureCheck =
  | { valid: true; expiresAt: number }
  | { valid: false; reason: 'invalid' | 'expired' };

/**
 * Signed, expiring image URLs: `${publicUrl}/images/<id>/<variant>?exp=<unix seconds>&sig=<base64url>`
 * with sig = HMAC-SHA256(key, "<id>|<variant>|<exp>"). The URL is the credential, so it works in
 * `<img src>` without an Authorization header, and only for the image and variant it names.
 */
export class UrlSigner {
  constructor(
    private readonly key: Buffer,
    private readonly publicUrl: string,
    private readonly ttlSec: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  url(id: string, variant: ImageVariant, expiresAt = this.defaultExpiry()): string {
    const sig = this.signature(id, variant, expiresAt);
    return `${this.publicUrl}/images/${encodeURIComponent(id)}/${variant}?exp=${expiresAt}&sig=${sig}`;
  }

  verify(id: string, variant: string, exp: unknown, sig: unknown): SignatureCheck {
    if (typeof exp !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(exp)) {
      return { valid: false, reason: 'invalid' };
    }
    if (!isImageVariant(variant)) return { valid: false, reason: 'invalid' };
    const expiresAt = Number(exp);
    const expected = Buffer.from(this.signature(id, variant, expiresAt), 'utf8');
    const given = Buffer.from(sig, 'utf8');
    // Length is not secret (always 43 characters); the comparison of the bytes must be constant-time.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { valid: false, reason: 'invalid' };
    }
    if (expiresAt <= this.nowSec()) return { valid: false, reason: 'expired' };
    return { valid: true, expiresAt };
  }

  nowSec(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  private defaultExpiry(): number {
    return this.nowSec() + this.ttlSec;
  }

  private signature(id: string, variant: ImageVariant, expiresAt: number): string {
    return createHmac('sha256', this.key).update(`${id}|${variant}|${expiresAt}`).digest('base64url');
  }
}
