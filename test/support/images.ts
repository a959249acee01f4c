/**
 * Decodable images made with sharp for the cross-service suites; noise PNGs, the pixel bomb and the
 * hostile files are in @imagehub/test-kit.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

/** A small PNG whose pixels differ per call, so uploads do not all deduplicate into one blob. */
export function uniquePng(width = 48, height = 32): Promise<Buffer> {
  const seed = randomBytes(3);
  return sharp({ create: { width, height, channels: 3, background: { r: seed[0], g: seed[1], b: seed[2] } } })
    .png()
    .toBuffer();
}

export function jpeg(width = 64, height = 48): Promise<Buffer> {
  const seed = randomBytes(3);
  return sharp({ create: { width, height, channels: 3, background: { r: seed[0], g: seed[1], b: seed[2] } } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await jpeg(200, 150);
  return whole.subarray(0, Math.floor(whole.length / 2));
}
