/** Images made on the fly for tests, so no binary fixtures are needed. */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A noisy-ish gradient, so re-encoding has real content to work on. `seed` makes distinct bytes. */
export function solid(width: number, height: number, seed = 0) {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: { r: (seed * 37) % 256, g: (seed * 91) % 256, b: 120 },
    },
  });
}

export const makeJpeg = (w = 64, h = 48, seed = 1) => solid(w, h, seed).jpeg().toBuffer();
export const makePng = (w = 64, h = 48, seed = 2) => solid(w, h, seed).png().toBuffer();
export const makeWebp = (w = 64, h = 48, seed = 3) => solid(w, h, seed).webp().toBuffer();
export const makeAvif = (w = 64, h = 48, seed = 4) => solid(w, h, seed).avif().toBuffer();

/** An animated GIF: `frames` frames of w x h stacked vertically, each a different colour. */
export async function makeAnimatedGif(w = 32, h = 24, frames = 3): Promise<Buffer> {
  const stacked = await sharp({ create: { width: w, height: h * frames, channels: 3, background: 'white' } })
    .composite(
      Array.from({ length: frames }, (_, i) => ({
        input: {
          create: {
            width: w,
            height: h,
            channels: 3 as const,
            background: { r: i * 80, g: 40, b: 200 - i * 60 },
          },
        },
        top: i * h,
        left: 0,
      })),
    )
    .raw()
    .toBuffer();
  return sharp(stacked, { raw: { width: w, height: h * frames, channels: 3, pageHeight: h } })
    .gif({ loop: 0, delay: Array(frames).fill(100) })
    .toBuffer();
}

/**
 * A JPEG stored sideways (wider than tall) with EXIF orientation 6 ("rotate 90° to view") and a
 * GPS position: the classic phone photo that leaks where it was taken.
 */
export function makeJpegWithGps(w = 80, h = 40): Promise<Buffer> {
  return solid(w, h, 5)
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: 'TestCam', Model: 'Leaky 1' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '52/1 31/1 12/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '13/1 24/1 0/1',
      },
    })
    .toBuffer();
}

/** A valid PNG header (signature + IHDR) claiming `w` x `h` pixels, followed by a tiny IDAT and IEND. */
export function makePngBomb(w = 50_000, h = 50_000): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export const SVG_WITH_SCRIPT = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>',
);
export const HTML_PAGE = Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>');
export const PNG_SIGNATURE_THEN_GARBAGE = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('this is not a png at all '.repeat(40)),
]);
