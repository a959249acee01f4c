import type { Readable } from 'node:stream';
import { badUserInput } from '@imagehub/service-kit';
import { payloadTooLarge } from './errors';

/**
 * Reads an upload stream into one buffer, counting bytes as they arrive and stopping at the first
 * byte over `maxBytes`: the upload library's own size limit truncates silently (the stream just
 * ends), so it cannot be trusted to report an oversized file. The decoders need the whole encoded
 * file anyway, so holding at most `maxBytes` of it is the floor; nothing beyond that is buffered.
 */
export async function readLimited(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += buffer.length;
      if (total > maxBytes) {
        throw payloadTooLarge(`The file is larger than the ${maxBytes}-byte limit`, maxBytes);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    // Whatever is left of the part is discarded by the multipart parser; we stop holding what we read.
    chunks.length = 0;
    stream.resume();
    if (isCodedError(error)) throw error;
    throw badUserInput('file', 'The upload was interrupted');
  }
  // busboy marks a part it cut at its own limit; never store a silently shortened file.
  if ((stream as Readable & { truncated?: boolean }).truncated) {
    throw payloadTooLarge(`The file is larger than the ${maxBytes}-byte limit`, maxBytes);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

function isCodedError(error: unknown): boolean {
  return typeof (error as { extensions?: { code?: unknown } })?.extensions?.code === 'string';
}
