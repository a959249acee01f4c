/**
 * Image fixtures made on the fly (no binary files): noise PNGs of a chosen size, a pixel bomb, and
 * the hostile files every upload path is tested with. Only `node:zlib`: no decoder involved, so a
 * fixture can be malformed on purpose.
 */
import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data, and the CRC of type + data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGB IHDR claiming `width` x `height`. */
function rgbHeader(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour RGB
  return header;
}

/**
 * A valid RGB PNG of random pixels. Noise does not compress, so the file is about
 * width × height × 3 bytes, and every call gives different bytes (the image subgraph deduplicates
 * blobs by hash, so repeated uploads of one file would store, and measure, less).
 */
export function noisePng(width: number, height: number, level = 0): Buffer {
  const rowBytes = width * 3 + 1;
  const raw = randomBytes(rowBytes * height);
  // Each row starts with its filter type; 0 = none.
  for (let row = 0; row < height; row++) raw[row * rowBytes] = 0;
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', rgbHeader(width, height)),
    pngChunk('IDAT', deflateSync(raw, { level })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A noise PNG of at least `bytes` bytes (and at most one row more plus a few kB of framing):
 * square up to 1024 pixels wide, then taller.
 */
export function noisePngOfSize(
  bytes: number,
  width = Math.min(1024, Math.ceil(Math.sqrt(bytes / 3))),
): Buffer {
  const height = Math.max(1, Math.ceil(bytes / (width * 3 + 1)));
  return noisePng(width, height);
}

/** Signature and IHDR claiming 50,000 x 50,000 pixels with a tiny IDAT: a decompression bomb in a few kB. */
export function pixelBombPng(width = 50_000, height = 50_000): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', rgbHeader(width, height)),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Hostile files: each must be refused by type sniffing, never stored or served. */
export const svgWithScript = () =>
  Buffer.from(
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>',
  );

export const htmlAsPng = () =>
  Buffer.from('<!doctype html><html><body><script>fetch("/steal?c="+document.cookie)</script></body></html>');

export const pngSignatureThenGarbage = () => Buffer.concat([PNG_SIGNATURE, randomBytes(2048)]);

/** A GIF header followed by a PHP payload: the classic polyglot. */
export const gifPolyglot = () => Buffer.from('GIF89a<?php system($_GET["c"]); ?>');

/**
 * A small picture that looks like one (sky, sun, hills) in a colour of its own, for tests whose
 * screenshots people look at. Smooth, so it compresses well and uploads fast.
 */
export function landscapePng(width: number, height: number, hue: number): Buffer {
  const rowBytes = width * 3 + 1;
  const raw = Buffer.alloc(rowBytes * height);
  const rgb = (h: number, s: number, l: number): [number, number, number] => {
    const k = (n: number) => (n + h / 30) % 12;
    const a = s * Math.min(l, 1 - l);
    const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
    return [f(0) * 255, f(8) * 255, f(4) * 255];
  };
  const sun = { x: width * 0.7, y: height * 0.35, r: Math.min(width, height) * 0.12 };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const hill = height * (0.68 + 0.08 * Math.sin((x / width) * Math.PI * 2 + hue / 40));
      const inSun = (x - sun.x) ** 2 + (y - sun.y) ** 2 < sun.r ** 2;
      const colour = inSun
        ? rgb((hue + 50) % 360, 0.9, 0.82)
        : y > hill
          ? rgb((hue + 140) % 360, 0.35, 0.3 + (0.1 * (height - y)) / height)
          : rgb(hue, 0.65, 0.45 + (0.35 * y) / height);
      raw.set(colour.map(Math.round), y * rowBytes + 1 + x * 3);
    }
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', rgbHeader(width, height)),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
