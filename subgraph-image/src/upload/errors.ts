import { badUserInput, codedError, ErrorCode } from '@imagehub/service-kit';

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

export const quotaExceeded = (limitBytes: number, usedBytes: number) =>
  codedError(
    ErrorCode.QUOTA_EXCEEDED,
    `Your storage quota of ${limitBytes} bytes is used up (${usedBytes} bytes used); delete images to make room`,
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
