import type { Readable } from 'node:stream';
import { badUserInput } from '@imagehub/service-kit';
import { fileTooLarge, formFailure } from './errors';

/**
 * Reads an upload stream into `into` (from its start), counting bytes as they arrive and stopping at
 * the first byte over `into.length`, the limit: the upload library's own size limit truncates
 * silently (the stream just ends), so it cannot be trusted to report an oversized file. The decoders
 * need the whole encoded file anyway, so holding it once is the floor; each chunk is copied as it
 * arrives and dropped (see UploadBuffers). Returns the part of `into` that holds the file.
 */
export async function readLimited(stream: Readable, into: Buffer): Promise<Buffer> {
  const maxBytes = into.length;
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buffer = chunk as Uint8Array;
      if (total + buffer.length > maxBytes) {
        throw fileTooLarge(maxBytes);
      }
      into.set(buffer, total);
      total += buffer.length;
    }
  } catch (error) {
    // Whatever is left of the part is discarded by the multipart parser.
    stream.resume();
    if (isCodedError(error)) throw error;
    throw formFailure(error) ?? badUserInput('file', 'The upload was interrupted');
  }
  // busboy marks a part it cut at its own limit; never store a silently shortened file.
  if ((stream as Readable & { truncated?: boolean }).truncated) {
    throw fileTooLarge(maxBytes);
  }
  return into.subarray(0, total);
}

function isCodedError(error: unknown): boolean {
  return typeof (error as { extensions?: { code?: unknown } })?.extensions?.code === 'string';
}
