import { createHash } from 'node:crypto';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { payloadTooLarge, unsupportedImage } from './errors';

// libvips' operation cache keeps decoded pixels of recent images around; an upload service never
// processes the same input twice, so the cache only costs memory.
sharp.cache(false);

export const THUMBNAIL_MAX_SIDE = 256;
const THUMBNAIL_CONTENT_TYPE = 'image/webp';

export type DetectedType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif' | 'image/avif';

export interface ImageLimits {
  /** All frames together, any format. */
  maxPixels: number;
  /** Lower limits for the formats whose decoders hold whole frames and whose encoders cost most. */
  maxWebpPixels?: number;
  maxAvifPixels?: number;
  /** Frames of an animated GIF or WebP. */
  maxFrames?: number;
  /** Wall-clock limit of each libvips pipeline, in whole seconds. */
  timeoutSec?: number;
}

/** The pixel limit that applies to one format. */
export function pixelLimit(type: DetectedType, limits: ImageLimits): number {
  const own =
    type === 'image/webp' ? limits.maxWebpPixels : type === 'image/avif' ? limits.maxAvifPixels : undefined;
  return Math.min(limits.maxPixels, own ?? Number.POSITIVE_INFINITY);
}

export interface EncodedImage {
  bytes: Buffer;
  contentType: string;
  sha256: string;
  width: number;
  height: number;
}

export interface ProcessedImage {
  original: EncodedImage & { contentType: DetectedType };
  thumbnail: EncodedImage;
}

/**
 * The type is decided by libvips' sniffing of the bytes (magic numbers), never by the client's
 * filename or declared type, and only from this allowlist: libvips also decodes SVG, PDF, TIFF,
 * HEIC and more, none of which may reach a browser from here.
 */
function detectType(metadata: Metadata): DetectedType | undefined {
  switch (metadata.format) {
    case 'jpeg':
      return 'image/jpeg';
    case 'png':
      return 'image/png';
    case 'webp':
      return 'image/webp';
    case 'gif':
      return 'image/gif';
    case 'heif':
      // HEIF is a container: only its AV1 flavour (AVIF) is accepted, not HEVC (HEIC).
      return metadata.compression === 'av1' ? 'image/avif' : undefined;
    default:
      return undefined;
  }
}

/**
 * Re-encoding is what guarantees that no EXIF/GPS/XMP/IPTC/comment block or trailing polyglot payload
 * survives (sharp writes none unless asked), and that what is stored is exactly what libvips
 * decoded. Settings keep quality high because this is the user's original:
 * - JPEG q90 (4:2:0 as cameras already use): visually lossless, ~1.5x smaller than q95+.
 * - PNG: lossless by nature; zlib level 6 is the speed/size knee.
 * - WebP q90: we cannot tell lossy from lossless input, q90 lossy is visually lossless for photos.
 * - GIF: re-uses the input palette (sharp's default), so requantisation does not lose colours;
 *   animated GIFs and WebPs keep all frames, delays and loop count.
 * - AVIF q75 (about JPEG q90 in perceived quality), effort 2: libaom's CPU time grows steeply with
 *   effort (a 8-megapixel noise image: 15.5 CPU-s at effort 4, 5 at effort 2) for a few percent of size.
 */
function encode(pipeline: Sharp, type: DetectedType): Sharp {
  switch (type) {
    case 'image/jpeg':
      return pipeline.jpeg({ quality: 90 });
    case 'image/png':
      return pipeline.png({ compressionLevel: 6 });
    case 'image/webp':
      return pipeline.webp({ quality: 90 });
    case 'image/gif':
      return pipeline.gif();
    case 'image/avif':
      return pipeline.avif({ quality: 75, effort: 2 });
  }
}

export interface InspectedImage {
  type: DetectedType;
  frames: number;
  /** The pixel limit that applies to this image's format. */
  maxPixels: number;
}

/**
 * What is cheap to check, from the headers alone (nothing is decoded): the type sniffed from the
 * bytes, the frame count and the declared dimensions against the limits. The image subgraph runs
 * this before it queues an upload; the worker runs it again before decoding.
 */
export async function inspectImage(input: Buffer, limits: ImageLimits): Promise<InspectedImage> {
  if (input.length === 0) throw unsupportedImage('The file is empty');

  let metadata: Metadata;
  try {
    // Reads headers only: nothing is decoded yet.
    metadata = await sharp(input, { animated: true, limitInputPixels: false }).metadata();
  } catch {
    throw unsupportedImage();
  }
  const type = detectType(metadata);
  if (!type) throw unsupportedImage();

  const frames = metadata.pages ?? 1;
  const frameHeight = metadata.pageHeight ?? metadata.height ?? 0;
  const width = metadata.width ?? 0;
  if (width <= 0 || frameHeight <= 0) throw unsupportedImage('The image has no dimensions');
  // Checked from the header, before any pixel is decoded: a 50000x50000 PNG is a few KB on disk
  // and 10 GB in memory. Animated images count every frame, and each frame costs work however
  // small it is (hundreds of thousands of 1x1 frames take seconds).
  if (limits.maxFrames !== undefined && frames > limits.maxFrames) {
    throw payloadTooLarge(`The image has more than ${limits.maxFrames} frames`, limits.maxFrames);
  }
  const maxPixels = pixelLimit(type, limits);
  const pixels = width * frameHeight * frames;
  if (pixels > maxPixels) throw tooManyPixels(type, maxPixels);
  return { type, frames, maxPixels };
}

/** Decodes, strips, re-encodes and thumbnails (the worker's part), after `inspectImage`'s checks. */
export async function processImage(input: Buffer, limits: ImageLimits): Promise<ProcessedImage> {
  const { type, frames, maxPixels } = await inspectImage(input, limits);

  const animated = frames > 1 && (type === 'image/gif' || type === 'image/webp');
  const decoderOptions = {
    // libvips enforces the same limit again while decoding, in case a header lied.
    limitInputPixels: maxPixels,
    // Truncated or corrupt data is an error, not a partially grey picture.
    failOn: 'error' as const,
    sequentialRead: true,
  };

  try {
    // The clock of each pipeline starts when libvips opens the input: no image may cost more than this.
    const timeout = { seconds: limits.timeoutSec ?? 0 };
    let pipeline = sharp(input, { ...decoderOptions, animated }).timeout(timeout);
    // EXIF orientation is applied to the pixels (the tag itself goes with the rest of the metadata).
    // libvips cannot rotate multi-frame images; animated GIF/WebP carry no EXIF orientation in practice.
    if (!animated) pipeline = pipeline.rotate();
    const { data, info } = await encode(pipeline, type).toBuffer({ resolveWithObject: true });

    const thumb = await sharp(input, decoderOptions) // first frame only
      .timeout(timeout)
      .rotate()
      .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer({ resolveWithObject: true });

    return {
      original: {
        bytes: data,
        contentType: type,
        sha256: sha256Hex(data),
        width: info.width,
        height: info.pageHeight ?? info.height,
      },
      thumbnail: {
        bytes: thumb.data,
        contentType: THUMBNAIL_CONTENT_TYPE,
        sha256: sha256Hex(thumb.data),
        width: thumb.info.width,
        height: thumb.info.height,
      },
    };
  } catch (error) {
    if (error instanceof Error && /pixel limit/i.test(error.message)) throw tooManyPixels(type, maxPixels);
    if (error instanceof Error && /^timeout/i.test(error.message)) {
      throw payloadTooLarge(
        `The image took longer than ${limits.timeoutSec} s to process`,
        limits.timeoutSec ?? 0,
      );
    }
    throw unsupportedImage('The image could not be decoded (truncated or corrupt)');
  }
}

const tooManyPixels = (type: DetectedType, maxPixels: number) =>
  payloadTooLarge(`The image has more than ${maxPixels} pixels (the limit for ${type})`, maxPixels);

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
