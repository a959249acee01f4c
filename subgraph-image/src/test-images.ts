/**
 * Decodable images made with sharp for tests, so no binary fixtures are needed; the pixel bomb and
 * the hostile files are in @imagehub/test-kit.
 */
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
