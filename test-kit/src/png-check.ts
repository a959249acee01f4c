/** Checks a PNG the way a decoder would, for tests of the fixtures and of generated images. */
import { crc32, inflateSync } from 'node:zlib';

/** Checks a PNG the way a decoder would: signature, chunk CRCs, IHDR, and the inflated pixel data size. */
export function inspectPng(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!png.subarray(0, 8).equals(signature)) throw new Error('not a PNG signature');
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  let ended = false;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const kind = png.subarray(offset + 4, offset + 8).toString('latin1');
    const data = png.subarray(offset + 8, offset + 8 + length);
    const crc = png.readUInt32BE(offset + 8 + length);
    if (crc32(png.subarray(offset + 4, offset + 8 + length)) >>> 0 !== crc)
      throw new Error(`bad CRC in ${kind}`);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 2) throw new Error('expected 8-bit RGB');
    }
    if (kind === 'IDAT') idat.push(data);
    if (kind === 'IEND') ended = true;
    offset += 12 + length;
  }
  if (!ended) throw new Error('no IEND');
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== (width * 3 + 1) * height) throw new Error(`pixel data is ${raw.length} bytes`);
  for (let y = 0; y < height; y++) {
    if ((raw[y * (width * 3 + 1)] as number) > 4) throw new Error(`bad filter byte on row ${y}`);
  }
  return { width, height };
}
