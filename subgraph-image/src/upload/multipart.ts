import {
  answerThenLinger,
  ErrorCode,
  ONE_FILE_PER_REQUEST,
  type RevocationList,
  revocationsUnavailableBody,
  type TokenVerifier,
  unauthenticatedBody,
} from '@imagehub/service-kit';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { processRequest } from 'graphql-upload-minimal';
import { authenticate } from '../auth';
import { MalformedFormError, TOO_MANY_FILES } from './errors';

/** Room for the `operations` and `map` fields and part headers around the one file. */
const MULTIPART_OVERHEAD_BYTES = 128 * 1024;
const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'];

/**
 * graphql-upload-minimal listens for the parser's first 'error' only (`once`), then destroys the
 * parser, and busboy's destroy of an unfinished form emits a second 'error' ("Unexpected end of
 * form"). With no listener left that second event would be thrown and take the whole process down,
 * so one malformed multipart body (e.g. a control character in a part header) would be a remote kill
 * switch. The first error still reaches the library and fails the request; later ones are dropped.
 */
function guardParserErrors(req: Request): void {
  const pipe = req.pipe.bind(req);
  req.pipe = (<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }) => {
    destination.on('error', () => {});
    // graphql-upload-minimal lets busboy read two fields (operations, map) and drops any further one
    // without a word, so a duplicated field went unnoticed and a file part without a filename (a
    // field to multipart) became "no file". Failing the parser fails the request, or the upload if
    // the operation already runs; either way as BAD_REQUEST (see receive in upload-service.ts).
    destination.once('fieldsLimit', () =>
      (destination as unknown as { destroy(error: Error): void }).destroy(
        new MalformedFormError(TOO_MANY_FIELDS),
      ),
    );
    return pipe(destination, options);
  }) as typeof req.pipe;
}

const TOO_MANY_FIELDS =
  'The form has a field besides "operations" and "map": one of them sent twice, or a file part without a filename';

type Refusal = [status: number, code: string, message: string, extensions?: Record<string, unknown>];

function refuse(req: Request, res: Response, ...[status, code, message, extensions]: Refusal): void {
  // Read (a bounded amount of) the unwanted body before closing, so a client still sending gets
  // this answer rather than a reset connection.
  answerThenLinger(req, res, status, { errors: [{ message, extensions: { ...extensions, code } }] });
}

/**
 * Answers only after reading (and discarding) the rest of a body within the upload limit. A proxy
 * such as the gateway is still streaming the file when the refusal is decided; closing on it would
 * lose the answer there, and the client would see a broken connection instead of the code.
 * A body that runs past the limit is cut off as before.
 */
function refuseAfterDraining(req: Request, res: Response, maxBodyBytes: number, refusal: Refusal): void {
  let seen = 0;
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen <= maxBodyBytes) return;
    req.off('data', onData);
    req.off('end', onEnd);
    refuse(req, res, ...refusal);
  };
  const onEnd = () => {
    if (res.headersSent) return;
    const [status, code, message, extensions] = refusal;
    res.status(status).json({ errors: [{ message, extensions: { ...extensions, code } }] });
  };
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('error', () => {});
}

/**
 * GraphQL multipart requests (uploads), checked before a byte of the file is read:
 * - CSRF: a browser can send multipart cross-site without a preflight, so a custom header is required,
 *   the same rule Apollo Server applies (and still applies after this).
 * - Authentication: an anonymous client cannot make us read megabytes.
 * - Size: a declared Content-Length over the limit is refused at once; otherwise one file, and the
 *   resolver counts the file's bytes itself (see readLimited).
 * Then graphql-upload-minimal parses the parts and the file streams into the resolver.
 */
export function multipartUploads(options: {
  maxUploadBytes: number;
  verifier: TokenVerifier;
  revocations: RevocationList;
}): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('multipart/form-data')) return next();
    const maxBodyBytes = options.maxUploadBytes + MULTIPART_OVERHEAD_BYTES;
    const declaredLength = Number(req.headers['content-length']);
    if (!PREFLIGHT_HEADERS.some((name) => (req.headers[name] ?? '').length > 0)) {
      return refuse(
        req,
        res,
        400,
        'BAD_REQUEST',
        'This operation has been blocked as a potential Cross-Site Request Forgery (CSRF): multipart requests need a non-empty `Apollo-Require-Preflight` header',
      );
    }
    const auth = await authenticate(req, options);
    if (auth.userId === undefined) {
      // 200 like every other GraphQL error, so gateways pass the code through unchanged.
      const { message, extensions } = auth.unavailable
        ? revocationsUnavailableBody()
        : unauthenticatedBody(auth.reason);
      const refusal: Refusal = [200, extensions.code, message, extensions];
      if (declaredLength > maxBodyBytes) return refuse(req, res, ...refusal);
      return refuseAfterDraining(req, res, maxBodyBytes, refusal);
    }
    if (declaredLength > maxBodyBytes) {
      return refuse(
        req,
        res,
        413,
        ErrorCode.PAYLOAD_TOO_LARGE,
        `The request is larger than the ${options.maxUploadBytes}-byte upload limit`,
      );
    }
    guardParserErrors(req);
    try {
      req.body = await processRequest(req, res, {
        maxFiles: 1,
        // One byte over our limit, so an oversized file is seen by our own count rather than cut silently.
        maxFileSize: options.maxUploadBytes + 1,
        maxFieldSize: 64 * 1024,
      });
      next();
    } catch (error) {
      const message = (error as Error).message;
      // graphql-upload-minimal answers a second file 413, as if the body were too big; it is a
      // usable request with one file too many, refused as the gateway refuses it.
      if (TOO_MANY_FILES.test(message)) {
        return refuse(req, res, 400, ErrorCode.BAD_USER_INPUT, ONE_FILE_PER_REQUEST, { field: 'file' });
      }
      const status = (error as { status?: number }).status ?? 400;
      const code = status === 413 ? ErrorCode.PAYLOAD_TOO_LARGE : 'BAD_REQUEST';
      refuse(req, res, status >= 400 && status < 600 ? status : 400, code, message);
    }
  };
}
