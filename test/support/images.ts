/** Images made on the fly (no binary fixtures): good ones and every hostile kind from the image issue. */
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
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

/** Random pixels do not compress: a valid PNG of about width x height x 3 bytes. */
export function noisePng(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

export const svgWithScript = () =>
  Buffer.from(
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>',
  );

export const htmlAsPng = () =>
  Buffer.from('<!doctype html><html><body><script>fetch("/steal?c="+document.cookie)</script></body></html>');

export const pngSignatureThenGarbage = () =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2048)]);

export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await jpeg(200, 150);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

/** Signature and IHDR claiming 50,000 x 50,000 pixels, with a tiny IDAT: a decompression bomb. */
export function pixelBombPng(width = 50_000, height = 50_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A GIF header followed by a PHP payload: the classic polyglot. */
export const gifPolyglot = () => Buffer.from('GIF89a<?php system($_GET["c"]); ?>');

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
