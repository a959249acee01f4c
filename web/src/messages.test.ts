/** The words a person reads for each error code an upload can meet (the browser test shows one in place). */
import {
  deleteAccountMessage,
  generalMessage,
  passwordFormMessage,
  signedOutNotice,
  uploadMessage,
} from './messages';

it('names the problem and what to do for each upload error code', () => {
  expect(uploadMessage({ code: 'PAYLOAD_TOO_LARGE', message: 'File is larger than 300000 bytes' })).toBe(
    'Too large to upload: the limit is 293 KB.',
  );
  expect(
    uploadMessage({
      code: 'BAD_USER_INPUT',
      message: 'The file is not a supported image (JPEG, PNG, WebP, GIF or AVIF)',
      field: 'file',
    }),
  ).toBe('Not a supported image (JPEG, PNG, WebP, GIF or AVIF).');
  expect(
    uploadMessage({
      code: 'QUOTA_EXCEEDED',
      message: 'quota',
      usedBytes: 99 * 1024 * 1024,
      limitBytes: 100 * 1024 * 1024,
    }),
  ).toBe('Not enough storage left for this photo (99 MB of 100 MB used). Delete some photos to make room.');
  expect(
    uploadMessage({
      code: 'QUOTA_EXCEEDED',
      message: 'quota',
      usedBytes: 100 * 1024 * 1024,
      limitBytes: 100 * 1024 * 1024,
    }),
  ).toBe('Your storage is full (100 MB of 100 MB used). Delete some photos to make room.');
  expect(uploadMessage({ code: 'QUOTA_EXCEEDED', message: 'quota' })).toBe(
    'Your storage is full. Delete some photos to make room.',
  );
  expect(uploadMessage({ code: 'TOO_MANY_REQUESTS', message: 'slow down', retryAfter: 12.2 })).toBe(
    'Too many uploads at once. Try again in 13 seconds.',
  );
  expect(uploadMessage({ code: 'TOO_MANY_REQUESTS', message: 'slow down', retryAfter: 300 })).toBe(
    'Too many uploads at once. Try again in 5 minutes.',
  );
});

it('says each upload refusal once, in one sentence, and a size limit in the page’s units', () => {
  // The gateway's words, the image subgraph's (a file found too large while reading it, a request
  // too large up front), and an image with too many pixels to decode.
  expect(uploadMessage({ code: 'PAYLOAD_TOO_LARGE', message: 'File is larger than 10485760 bytes' })).toBe(
    'Too large to upload: the limit is 10 MB.',
  );
  expect(
    uploadMessage({ code: 'PAYLOAD_TOO_LARGE', message: 'The file is larger than the 10485760-byte limit' }),
  ).toBe('Too large to upload: the limit is 10 MB.');
  expect(
    uploadMessage({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'The request is larger than the 10485760-byte upload limit',
    }),
  ).toBe('Too large to upload: the limit is 10 MB.');
  expect(
    uploadMessage({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'The image has more than 40000000 pixels (the limit for image/png)',
    }),
  ).toBe('Too large to upload: the limit is 40 million pixels.');
  expect(uploadMessage({ code: 'PAYLOAD_TOO_LARGE', message: 'Request body too large' })).toBe(
    'Too large to upload.',
  );
  // The server's words when they say something else than "not a supported image", once.
  expect(uploadMessage({ code: 'BAD_USER_INPUT', message: 'The file is empty', field: 'file' })).toBe(
    'The file is empty.',
  );
  expect(
    uploadMessage({
      code: 'BAD_USER_INPUT',
      message: 'The image could not be decoded (truncated or corrupt)',
      field: 'file',
    }),
  ).toBe('The image could not be decoded (truncated or corrupt).');
  expect(uploadMessage({ code: 'BAD_USER_INPUT', message: '', field: 'file' })).toBe(
    'Not a supported image (JPEG, PNG, WebP, GIF or AVIF).',
  );
});

it('tells a failed renewal of the sign-in as what it is, not as the form’s or the upload’s error', () => {
  const throttled = {
    code: 'TOO_MANY_REQUESTS',
    message: 'Too many requests',
    retryAfter: 30,
    refresh: true,
  };
  expect(uploadMessage(throttled)).toBe('Too many attempts. Try again in 30 seconds.');
  expect(passwordFormMessage(throttled)).toBe('Too many attempts. Try again in 30 seconds.');
  expect(deleteAccountMessage(throttled)).toBe('Too many attempts. Try again in 30 seconds.');
  expect(uploadMessage({ code: 'SERVICE_UNAVAILABLE', message: 'HTTP 503', refresh: true })).toMatch(
    /busy or briefly down/,
  );
  expect(uploadMessage({ code: 'NETWORK_ERROR', message: '', refresh: true })).toMatch(
    /Could not reach the server/,
  );
  expect(
    generalMessage({
      code: 'UNAUTHENTICATED',
      reason: 'TOKEN_EXPIRED',
      message: 'Access token has expired; get a new one with refreshToken',
    }),
  ).toBe('Your sign-in could not be renewed just now. Try again.');
});

it('never shows an internal error message, and explains outages and lost connections', () => {
  expect(generalMessage({ code: 'INTERNAL_SERVER_ERROR', message: 'TypeError: x is undefined' })).toBe(
    'Something went wrong on our side. Try again.',
  );
  expect(generalMessage({ code: 'SERVICE_UNAVAILABLE', message: 'db down' })).toMatch(/busy or briefly down/);
  expect(generalMessage({ code: 'NETWORK_ERROR', message: '' })).toMatch(/Could not reach the server/);
  expect(
    generalMessage({
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: 'Cannot query field "mySessions" on type "Query".',
    }),
  ).toBe('This page and the server are out of step. Reload the page, or try again later.');
});

it('says on the sign-in screen how the last session ended, and nothing after a plain sign-out', () => {
  expect(signedOutNotice('revoked')).toMatch(
    /^Your session was ended, from another device or by a password change/,
  );
  expect(signedOutNotice('ended')).toBe('Your session has ended. Sign in again to continue.');
  expect(signedOutNotice('everywhere')).toBe('You are signed out on every device.');
  expect(signedOutNotice('deleted')).toMatch(/^Your account and its photos were deleted\./);
  expect(signedOutNotice('signed-out')).toBeUndefined();
});

it('reads a wrong current password as a typo, a refused new one in the server’s words', () => {
  const wrong = { code: 'UNAUTHENTICATED', reason: 'BAD_CREDENTIALS', message: 'Wrong password' };
  expect(passwordFormMessage(wrong)).toBe('That is not your current password.');
  expect(
    passwordFormMessage({
      code: 'BAD_USER_INPUT',
      field: 'newPassword',
      message: 'Password is too common; choose a less guessable one',
    }),
  ).toBe('Password is too common; choose a less guessable one');
  expect(passwordFormMessage({ code: 'TOO_MANY_REQUESTS', message: 'locked', retryAfter: 60 })).toBe(
    'Too many wrong passwords. Try again in 60 seconds.',
  );
});

it('reads a wrong password in the delete-account dialog as just that, not as an email problem', () => {
  // The server's words for BAD_CREDENTIALS are login's ("Invalid email or password").
  const wrong = { code: 'UNAUTHENTICATED', reason: 'BAD_CREDENTIALS', message: 'Invalid email or password' };
  expect(deleteAccountMessage(wrong)).toBe('Wrong password.');
  expect(deleteAccountMessage({ code: 'TOO_MANY_REQUESTS', message: 'locked', retryAfter: 60 })).toBe(
    'Too many wrong passwords. Try again in 60 seconds.',
  );
});
