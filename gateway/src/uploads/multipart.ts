import { Transform } from 'node:stream';
import {
  answerThenLinger,
  type BearerAuthentication,
  ErrorCode,
  ONE_FILE_PER_REQUEST,
  revocationsUnavailableBody,
} from '@imagehub/service-kit';
import busboy from 'busboy';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { clientAddress } from '../http/client-address';
import { badRequest, badUpload, parseMap, parseOperations, placeUpload } from './form-fields';
import type { UploadSlots } from './slots';
import { PayloadTooLargeError, StreamedUpload, UploadRequestError } from './upload';

export interface MultipartOptions {
  maxFileBytes: number;
  /** Cap on the `operations` and `map` fields (JSON text). */
  maxFieldBytes: number;
  onUploadBytes?: (bytes: number) => void;
  /**
   * Checks the caller before a byte of the file is read; returns why it is refused, if it is.
   * Uploads only: an anonymous client must not make the gateway stream megabytes to a subgraph
   * that will refuse them (and, refusing early, cut the connection under the gateway's feet).
   */
  authenticate?: (req: Request) => Promise<BearerAuthentication>;
  /** Upload slots, per user and address (needs `authenticate`); beyond them, TOO_MANY_REQUESTS. */
  slots?: UploadSlots;
  /**
   * Slowest acceptable upload, in bytes per second over the whole request once `rateGraceMs` has
   * passed: a client trickling its file holds a slot and a subgraph connection for nothing.
   */
  minBytesPerSec?: number;
  rateGraceMs?: number;
  /** A multipart request refused before reaching Apollo Server (limits, malformed form). */
  onRefused?: (error: Error) => void;
}

/** Apollo Server's CSRF rule: a "simple" request (multipart is one) needs a header browsers cannot send cross-origin without a preflight. */
function hasPreflightHeader(req: Request): boolean {
  return Boolean(req.headers['apollo-require-preflight'] || req.headers['x-apollo-operation-name']);
}

const isMultipart = (req: Request) =>
  (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data');

/** The multipart framing around the fields and one file: boundaries and part headers, generously. */
const FRAMING_BYTES = 16 * 1024;

/**
 * Parses a GraphQL multipart request (operations, map, one file) without buffering the file: as soon
 * as the file part starts, the operation runs with a StreamedUpload in its variables, and the file's
 * bytes flow to whichever subgraph request takes it. Size and count limits apply while streaming.
 */
export function multipartUploads(options: MultipartOptions): RequestHandler {
  const { maxFileBytes, maxFieldBytes } = options;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' || !isMultipart(req)) {
      next();
      return;
    }
    if (!hasPreflightHeader(req)) {
      // Leave the refusal to Apollo Server's CSRF prevention, without reading a byte of the body.
      req.body = {};
      next();
      return;
    }
    if (options.authenticate) {
      return void options.authenticate(req).then((caller) => {
        if (caller.unavailable) {
          const { message } = revocationsUnavailableBody();
          return refuse(req, res, new UploadRequestError(200, ErrorCode.SERVICE_UNAVAILABLE, message));
        }
        if (caller.reason) {
          return refuse(req, res, new UploadRequestError(200, ErrorCode.UNAUTHENTICATED, '', caller.reason));
        }
        const slot = options.slots?.take(caller.userId, clientAddress(req) ?? '');
        if (slot && 'refused' in slot) {
          const error = new UploadRequestError(429, ErrorCode.TOO_MANY_REQUESTS, slot.refused);
          options.onRefused?.(error);
          return refuse(req, res, error);
        }
        // Held until the answer is sent or the connection is gone, whichever comes first; a refusal
        // gives it back as it is written (refuse), not once the client has stopped sending: a
        // browser sending two files at once starts its next one as soon as it reads the refusal.
        if (slot) {
          res.once('close', slot.release);
          res.locals[RELEASE_SLOT] = slot.release;
        }
        parseForm(req, res, next);
      }, next);
    }
    parseForm(req, res, next);
  };

  function parseForm(req: Request, res: Response, next: NextFunction): void {
    const declaredLength = Number(req.headers['content-length']);
    if (declaredLength > maxFileBytes + maxFieldBytes + FRAMING_BYTES) {
      const error = new PayloadTooLargeError(maxFileBytes);
      options.onRefused?.(error);
      refuse(req, res, error);
      return;
    }

    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        // Browsers and curl send filenames as raw UTF-8; busboy's default (latin1) turns café into cafÃ©.
        defParamCharset: 'utf8',
        // The name goes to the image subgraph as sent, which reduces it (and a name with nothing left,
        // such as "a/" or "..", to its fallback); busboy's own reduction would empty such a name, and a
        // part with an empty filename is no longer a file there.
        preservePath: true,
        limits: {
          // One byte over the cap, so an exactly-at-cap file passes and anything larger is seen.
          fileSize: maxFileBytes + 1,
          files: 1,
          // operations and map, and one more for the field handler to say what is wrong with it.
          fields: 3,
          // busboy reports reaching this, not passing it: a 4th part of any kind is one too many.
          parts: 4,
          fieldSize: maxFieldBytes,
          headerPairs: 20,
        },
      });
    } catch (error) {
      refuse(req, res, badRequest((error as Error).message));
      return;
    }

    const seenFields = new Set<string>();
    let operations: Record<string, unknown> | undefined;
    let map: Record<string, string[]> | undefined;
    let forwarded: Transform | undefined;
    let handedOver = false;
    let formSettled = false;
    let settleForm: (error?: Error) => void = () => {};
    const formDone = new Promise<void>((resolve, reject) => {
      settleForm = (error) => {
        if (formSettled) return;
        formSettled = true;
        if (error) reject(error);
        else resolve();
      };
    });
    formDone.catch(() => {});

    const fail = (error: Error) => {
      settleForm(error);
      if (handedOver) {
        // The operation is already running: failing the file stream fails the subgraph request, and
        // a form that breaks now is its `file` argument's problem (BAD_USER_INPUT, field file), as
        // the image subgraph answers a file cut short; before that it is the request's (BAD_REQUEST).
        forwarded?.destroy(isMalformedForm(error) ? badUpload(error.message) : error);
      } else {
        handedOver = true;
        options.onRefused?.(error);
        refuse(req, res, error);
      }
    };

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        return fail(new UploadRequestError(413, ErrorCode.PAYLOAD_TOO_LARGE, `Field "${name}" is too large`));
      }
      try {
        if (name === 'operations' || name === 'map') {
          if (seenFields.has(name)) throw badRequest(`The "${name}" field was sent more than once`);
          seenFields.add(name);
        }
        if (name === 'operations') operations = parseOperations(value);
        else if (name === 'map') map = parseMap(value);
        else if (map && name in map)
          // A part without a filename (filename="") is a plain field to multipart, not a file.
          throw badRequest(`The part "${name}" in the map is not a file: it has no filename`);
        else throw badUpload(`Unexpected field "${name}"`);
      } catch (error) {
        fail(error as Error);
      }
    });

    parser.on('file', (name, stream, info) => {
      if (handedOver || !operations || !map) {
        stream.resume();
        if (!handedOver) {
          fail(badRequest('The "operations" and "map" fields must come before the file'));
        }
        return;
      }
      const paths = map[name];
      if (!paths) {
        stream.resume();
        return fail(badUpload(`File field "${name}" is not in the map`));
      }
      let bytes = 0;
      forwarded = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          if (bytes > maxFileBytes) {
            callback(new PayloadTooLargeError(maxFileBytes));
            return;
          }
          options.onUploadBytes?.(chunk.length);
          callback(null, chunk);
        },
        // Only end the file once the whole form is read: a second file or a broken form afterwards
        // must fail the upload rather than leave one stored.
        flush(callback) {
          formDone.then(() => callback(), callback);
        },
      });
      stream.on('limit', () => forwarded?.destroy(new PayloadTooLargeError(maxFileBytes)));
      // A broken form (cut short, bad boundary) is the client's mistake, not a subgraph failure.
      stream.on('error', (error: Error) =>
        forwarded?.destroy(badUpload(`Malformed multipart request: ${error.message}`)),
      );
      // Whoever reads the upload sees its error; until then it must not crash the process.
      forwarded.on('error', () => {});
      forwarded.on('close', () => {
        // Nobody reads the file any more (forwarded, refused or abandoned): stop pulling it from the client.
        if (!stream.readableEnded) stream.resume();
      });
      stream.pipe(forwarded);

      const upload = new StreamedUpload(info.filename ?? 'upload', info.mimeType, forwarded);
      try {
        for (const path of paths) placeUpload(operations as Record<string, unknown>, path, upload);
      } catch (error) {
        stream.resume();
        return fail(error as Error);
      }
      res.locals.upload = upload;
      handedOver = true;
      req.body = operations;
      res.once('finish', () => {
        if (!upload.wasTaken) upload.discard();
      });
      next();
    });

    parser.on('filesLimit', () => fail(badUpload(ONE_FILE_PER_REQUEST)));
    parser.on('partsLimit', () => fail(badUpload('Too many parts in the multipart request')));
    parser.on('fieldsLimit', () => fail(badUpload('Too many fields in the multipart request')));
    parser.on('error', (error: Error) => fail(badRequest(`Malformed multipart request: ${error.message}`)));
    parser.on('close', () => {
      if (handedOver) return settleForm();
      if (!operations) return fail(badRequest('Missing "operations" field'));
      if (map && Object.keys(map).length > 0) return fail(badUpload('A file in the map was not sent'));
      // Spec-valid: a multipart request that carries no file at all.
      handedOver = true;
      settleForm();
      req.body = operations;
      next();
    });

    if (options.minBytesPerSec)
      watchTransferRate(req, options.minBytesPerSec, options.rateGraceMs ?? 10_000, fail);

    req.on('close', () => {
      if (!req.complete) {
        const gone = new Error('The client went away during the upload');
        settleForm(gone);
        forwarded?.destroy(gone);
        parser.destroy();
      }
    });
    req.pipe(parser);
  }
}

/**
 * Fails a request whose body arrives slower than `minBytesPerSec` on average, checked every second
 * once `graceMs` has passed (a slow start is normal). Stops watching when the body is complete.
 */
function watchTransferRate(
  req: Request,
  minBytesPerSec: number,
  graceMs: number,
  fail: (error: Error) => void,
): void {
  const started = Date.now();
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
  };
  req.on('data', count);
  const timer = setInterval(() => {
    const elapsedMs = Date.now() - started;
    if (elapsedMs < graceMs || received >= (minBytesPerSec * elapsedMs) / 1000) return;
    stop();
    fail(
      new UploadRequestError(
        408,
        ErrorCode.BAD_REQUEST,
        `The upload is arriving slower than ${minBytesPerSec} bytes per second; it was stopped`,
      ),
    );
  }, 1_000);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    req.off('data', count);
  };
  req.once('end', stop);
  req.once('close', stop);
}

const isMalformedForm = (error: Error) =>
  error instanceof UploadRequestError && error.status === 400 && error.code === ErrorCode.BAD_REQUEST;

/** Answers before Apollo Server sees the request, in the same shape as a GraphQL error response. */
/** Where an admitted upload's slot release waits (res.locals), for `refuse`. */
const RELEASE_SLOT = 'releaseUploadSlot';

function refuse(req: Request, res: Response, error: Error): void {
  const known = error instanceof UploadRequestError ? error : undefined;
  const tooLarge = error instanceof PayloadTooLargeError;
  const status = known?.status ?? (tooLarge ? 413 : 400);
  const code = known?.code ?? (tooLarge ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.BAD_REQUEST);
  // Every refusal of the file itself names the argument, as the contract's BAD_USER_INPUT does.
  const extensions = tooLarge
    ? { code, field: 'file', limit: error.limit }
    : code === ErrorCode.PAYLOAD_TOO_LARGE || code === ErrorCode.BAD_USER_INPUT
      ? { code, field: 'file' }
      : code === ErrorCode.TOO_MANY_REQUESTS || code === ErrorCode.SERVICE_UNAVAILABLE
        ? { code, retryAfter: 1 }
        : known?.reason
          ? { code, reason: known.reason }
          : { code };
  (res.locals[RELEASE_SLOT] as (() => void) | undefined)?.();
  req.unpipe();
  // The rest of the body is not wanted, but it is read (a bounded amount) before the connection
  // closes, so that a client still sending gets this answer rather than a reset connection.
  answerThenLinger(req, res, status, { errors: [{ message: error.message, extensions }] });
}
