import { badUserInput, codedError, ErrorCode, ONE_FILE_PER_REQUEST } from '@imagehub/service-kit';

export const unsupportedImage = (
  detail = 'The file is not a supported image (JPEG, PNG, WebP, GIF or AVIF)',
) => badUserInput('file', detail);

export const payloadTooLarge = (message: string, limit: number) =>
  codedError(ErrorCode.PAYLOAD_TOO_LARGE, message, { field: 'file', limit });

/** A file over MAX_UPLOAD_BYTES, found while reading it: HTTP 413, as a declared length over it is, and as the gateway answers. */
export const fileTooLarge = (maxBytes: number) =>
  codedError(ErrorCode.PAYLOAD_TOO_LARGE, `The file is larger than the ${maxBytes}-byte limit`, {
    field: 'file',
    limit: maxBytes,
    http: { status: 413 },
  });

/** Used up, or not enough of it left for this image: the words say which, the figures are the same. */
export const quotaExceeded = (limitBytes: number, usedBytes: number) =>
  codedError(
    ErrorCode.QUOTA_EXCEEDED,
    usedBytes >= limitBytes
      ? `Your storage quota of ${limitBytes} bytes is used up (${usedBytes} bytes used); delete images to make room`
      : `The image does not fit in what is left of your storage quota of ${limitBytes} bytes (${usedBytes} bytes used); delete images to make room`,
    { limitBytes, usedBytes },
  );

/**
 * A form that is not of the multipart request spec's shape, found by the parser while the operation
 * may already be waiting for its file: BAD_REQUEST with HTTP 400 wherever it surfaces, as the gateway answers.
 */
export class MalformedFormError extends Error {
  override name = 'MalformedFormError';
  readonly status = 400;
}

export const malformedForm = (message: string) =>
  codedError(ErrorCode.BAD_REQUEST, message, { http: { status: 400 } });

/** graphql-upload-minimal's message for more files than `maxFiles` (map entries or file parts). */
export const TOO_MANY_FILES = /max file uploads exceeded/;

/**
 * What a multipart form that broke after the operation started reading its file is, in the same
 * code and status the gateway gives it; undefined for any other failure (e.g. a client cut short).
 */
export function formFailure(error: unknown) {
  if (error instanceof MalformedFormError) return malformedForm(error.message);
  // An extra file part the map does not name: graphql-upload-minimal fails the file being read.
  if (error instanceof Error && TOO_MANY_FILES.test(error.message)) {
    return codedError(ErrorCode.BAD_USER_INPUT, ONE_FILE_PER_REQUEST, {
      field: 'file',
      http: { status: 400 },
    });
  }
  return undefined;
}
