/**
 * Decode bombs: small files whose decoding or re-encoding costs far more than their size suggests
 * (hardening issue, finding 1). Made on the fly, like every other test image.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

/** One colour over a large canvas compresses to almost nothing in AVIF: well under 1 KB for 6000x6000. */
export function tinyAvif(width = 6000, height = 6000): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .avif({ quality: 30, effort: 0 })
    .toBuffer();
}

/** The same trick in WebP: 8000x5000 of one colour is a few kB. */
export function tinyWebp(width = 8000, height = 5000): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 30, g: 200, b: 30 } } })
    .webp({ quality: 50 })
    .toBuffer();
}

/**
 * An animated GIF of `frames` 1x1 frames, written by hand (about 20 bytes a frame): the pixel count
 * is tiny, the per-frame work of decoding and re-encoding is not.
 */
export function manyFrameGif(frames: number): Buffer {
  const header = Buffer.from([
    ...Buffer.from('GIF89a', 'ascii'),
    1,
    0,
    1,
    0, // logical screen 1x1
    0x80,
    0,
    0, // global colour table of 2 entries
    0,
    0,
    0,
    255,
    255,
    255,
    // NETSCAPE2.0 looping extension, so decoders treat it as an animation
    0x21,
    0xff,
    0x0b,
    ...Buffer.from('NETSCAPE2.0', 'ascii'),
    3,
    1,
    0,
    0,
    0,
  ]);
  const frame = Buffer.from([
    0x21,
    0xf9,
    4,
    0,
    1,
    0,
    0,
    0, // graphic control: 10 ms delay
    0x2c,
    0,
    0,
    0,
    0,
    1,
    0,
    1,
    0,
    0, // image descriptor 1x1 at 0,0
    2,
    2,
    0x4c,
    0x01,
    0, // LZW min code size 2, one 2-byte sub-block: clear, 1 pixel, end
  ]);
  const parts = [header];
  for (let i = 0; i < frames; i++) parts.push(frame);
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

/**
 * Noise does not compress: the most work per pixel for every decoder and encoder. With `frames`,
 * an animation of that many frames of width x height (GIF and WebP).
 */
export function noiseImage(
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'avif',
  width: number,
  height: number,
  options: { frames?: number; quality?: number } = {},
): Promise<Buffer> {
  const frames = options.frames ?? 1;
  const image = sharp(randomBytes(width * height * frames * 3), {
    raw: { width, height: height * frames, channels: 3, ...(frames > 1 ? { pageHeight: height } : {}) },
  });
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: options.quality ?? 90 }).toBuffer();
    case 'png':
      return image.png({ compressionLevel: 1 }).toBuffer();
    case 'webp':
      return image.webp({ quality: options.quality ?? 90, effort: 0 }).toBuffer();
    case 'gif':
      return image.gif({ effort: 1 }).toBuffer();
    case 'avif':
      return image.avif({ quality: options.quality ?? 50, effort: 0 }).toBuffer();
  }
}
