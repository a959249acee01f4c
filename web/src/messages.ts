import type { ApiError } from './api';
import { formatBytes } from './dom';

/** What a person is told for each of the contract's error codes an upload can meet. */
export function uploadMessage(error: ApiError): string {
  switch (error.code) {
    case 'PAYLOAD_TOO_LARGE':
      return `Too large to upload: ${error.message}`;
    case 'BAD_USER_INPUT':
      return `Not a supported image (JPEG, PNG, WebP, GIF or AVIF): ${error.message}`;
    case 'QUOTA_EXCEEDED':
      return error.usedBytes !== undefined && error.limitBytes !== undefined
        ? `Your storage is full (${formatBytes(error.usedBytes)} of ${formatBytes(error.limitBytes)} used). Delete some photos to make room.`
        : 'Your storage is full. Delete some photos to make room.';
    case 'TOO_MANY_REQUESTS':
      return `Too many uploads at once. Try again in ${retryText(error.retryAfter)}.`;
    default:
      return generalMessage(error);
  }
}

export function generalMessage(error: ApiError): string {
  switch (error.code) {
    case 'TOO_MANY_REQUESTS':
      return `Too many attempts. Try again in ${retryText(error.retryAfter)}.`;
    case 'SERVICE_UNAVAILABLE':
      return 'The service is busy or briefly down. Try again in a moment.';
    case 'NETWORK_ERROR':
      return 'Could not reach the server. Check your connection and try again.';
    case 'INTERNAL_SERVER_ERROR':
      return 'Something went wrong on our side. Try again.';
    default:
      return error.message;
  }
}

function retryText(seconds: number | undefined): string {
  if (seconds === undefined) return 'a moment';
  const whole = Math.max(1, Math.ceil(seconds));
  return whole < 90 ? `${whole} second${whole === 1 ? '' : 's'}` : `${Math.ceil(whole / 60)} minutes`;
}
