import { badUserInput, codedError, ErrorCode } from '@imagehub/service-kit';

export const unsupportedImage = (
  detail = 'The file is not a supported image (JPEG, PNG, WebP, GIF or AVIF)',
) => badUserInput('file', detail);

export const payloadTooLarge = (message: string, limit: number) =>
  codedError(ErrorCode.PAYLOAD_TOO_LARGE, message, { field: 'file', limit });
