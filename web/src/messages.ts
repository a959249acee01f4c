import type { ApiError } from './api';
import { formatBytes } from './dom';
import type { SignOutReason } from './session';

/** What a person is told for each of the contract's error codes an upload can meet. */
export function uploadMessage(error: ApiError): string {
  // The upload never went out: renewing the sign-in failed, and that is what to tell.
  if (error.refresh) return generalMessage(error);
  switch (error.code) {
    case 'PAYLOAD_TOO_LARGE':
      return tooLargeMessage(error.message);
    case 'BAD_USER_INPUT':
      // The server's own words when they say more than "not a supported image" (empty, corrupt,
      // interrupted), else the app's one sentence: never both.
      return !error.message || SUPPORTED_IMAGE.test(error.message)
        ? 'Not a supported image (JPEG, PNG, WebP, GIF or AVIF).'
        : sentence(error.message);
    case 'QUOTA_EXCEEDED':
      if (error.usedBytes === undefined || error.limitBytes === undefined)
        return 'Your storage is full. Delete some photos to make room.';
      // Full, or not full but without room for this photo: the figures alone would contradict "full".
      return `${error.usedBytes >= error.limitBytes ? 'Your storage is full' : 'Not enough storage left for this photo'} (${formatBytes(error.usedBytes)} of ${formatBytes(error.limitBytes)} used). Delete some photos to make room.`;
    case 'TOO_MANY_REQUESTS':
      return `Too many uploads at once. Try again in ${retryText(error.retryAfter)}.`;
    default:
      return generalMessage(error);
  }
}

const SUPPORTED_IMAGE = /not a supported image/i;

/**
 * The limit an upload broke, in the page's units: the servers name it in bytes ("File is larger
 * than 10485760 bytes", "the 10485760-byte limit") or, for an image too big to decode, in pixels.
 */
function tooLargeMessage(message: string): string {
  const bytes = message.match(/(\d+)(?:-byte| bytes)/);
  if (bytes) return `Too large to upload: the limit is ${formatBytes(Number(bytes[1]))}.`;
  const pixels = message.match(/more than (\d+) pixels/);
  if (pixels) {
    const count = Number(pixels[1]);
    const words = count >= 1_000_000 ? `${Number((count / 1_000_000).toFixed(1))} million` : String(count);
    return `Too large to upload: the limit is ${words} pixels.`;
  }
  return 'Too large to upload.';
}

/** A server message as a sentence of its own: capitalised, with a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
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
    // Still expired after a refresh that did not help: worth another try, not a sign-out.
    case 'UNAUTHENTICATED':
      return error.reason === 'TOKEN_EXPIRED'
        ? 'Your sign-in could not be renewed just now. Try again.'
        : error.message;
    // The server does not know what this page asks: a page older or newer than the server.
    case 'GRAPHQL_VALIDATION_FAILED':
      return 'This page and the server are out of step. Reload the page, or try again later.';
    default:
      return error.message;
  }
}

function retryText(seconds: number | undefined): string {
  if (seconds === undefined) return 'a moment';
  const whole = Math.max(1, Math.ceil(seconds));
  return whole < 90 ? `${whole} second${whole === 1 ? '' : 's'}` : `${Math.ceil(whole / 60)} minutes`;
}

/** What the sign-in screen says about how the last session ended; nothing after a plain sign-out. */
export function signedOutNotice(reason: SignOutReason): string | undefined {
  switch (reason) {
    case 'revoked':
      return 'Your session was ended, from another device or by a password change. Sign in again to continue.';
    case 'ended':
      return 'Your session has ended. Sign in again to continue.';
    case 'everywhere':
      return 'You are signed out on every device.';
    case 'deleted':
      return 'Your account and its photos were deleted. You can create a new account at any time.';
    case 'signed-out':
      return undefined;
  }
}

/**
 * A form that asks for the current password (change password, delete account): a wrong one is
 * BAD_CREDENTIALS, which says nothing about the session and must read as a typo, not a sign-out.
 */
export function passwordFormMessage(error: ApiError): string {
  if (error.reason === 'BAD_CREDENTIALS') return 'That is not your current password.';
  if (error.code === 'TOO_MANY_REQUESTS' && !error.refresh)
    return `Too many wrong passwords. Try again in ${retryText(error.retryAfter)}.`;
  return generalMessage(error);
}

/**
 * The delete-account dialog asks for "your password", nothing else: a wrong one (BAD_CREDENTIALS,
 * whose server message speaks of an email) reads as just that.
 */
export function deleteAccountMessage(error: ApiError): string {
  if (error.reason === 'BAD_CREDENTIALS') return 'Wrong password.';
  return passwordFormMessage(error);
}
