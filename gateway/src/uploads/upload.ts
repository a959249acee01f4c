import { Readable } from 'node:stream';
import { type ErrorCode, UNAUTHENTICATED_MESSAGES, type UnauthenticatedReason } from '@imagehub/service-kit';

/** A file over the gateway's MAX_UPLOAD_BYTES: `limit` is that, in bytes, as the image subgraph says it. */
export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError';
  constructor(readonly limit: number) {
    super(`File is larger than ${limit} bytes`);
  }
}

/** A multipart request the gateway refuses, with the HTTP status and contract code to answer with. */
export class UploadRequestError extends Error {
  override name = 'UploadRequestError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** For UNAUTHENTICATED: why, with the one wording every service uses for it. */
    readonly reason?: UnauthenticatedReason,
  ) {
    super(reason ? UNAUTHENTICATED_MESSAGES[reason] : message);
  }
}

/**
 * A client's file on its way through the gateway, put into the operation's variables where the
 * multipart `map` says. The bytes are never collected here: `stream` hands them on as the client
 * sends them, and the client is only read as fast as the subgraph reads (backpressure).
 */
export class StreamedUpload {
  private consumed = false;

  constructor(
    readonly filename: string,
    readonly mimetype: string,
    private readonly source: Readable,
  ) {}

  /** The file's bytes. One subgraph request can read them, once: a stream cannot be replayed. */
  take(): Readable {
    if (this.consumed)
      throw new Error('The upload was already forwarded; a file can go to one subgraph only');
    this.consumed = true;
    return this.source;
  }

  get wasTaken(): boolean {
    return this.consumed;
  }

  /** Ends the client side when no subgraph wants the file (e.g. the operation failed validation). */
  discard(): void {
    if (!this.source.destroyed) this.source.destroy();
  }
}

export interface UploadLocation {
  upload: StreamedUpload;
  /** Path inside `variables`, e.g. ['file'] or ['input', 'files', 0]. */
  path: (string | number)[];
}

/** Finds the uploads in a subgraph request's variables (they may sit anywhere inside input objects). */
export function findUploads(value: unknown, path: (string | number)[] = [], found: UploadLocation[] = []) {
  if (value instanceof StreamedUpload) {
    found.push({ upload: value, path });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      findUploads(item, [...path, index], found);
    });
  } else if (value !== null && typeof value === 'object' && !(value instanceof Readable)) {
    for (const [key, item] of Object.entries(value)) findUploads(item, [...path, key], found);
  }
  return found;
}
