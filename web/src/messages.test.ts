/** The words a person reads for each error code an upload can meet (the browser test shows one in place). */
import { generalMessage, uploadMessage } from './messages';

it('names the problem and what to do for each upload error code', () => {
  expect(uploadMessage({ code: 'PAYLOAD_TOO_LARGE', message: 'File is larger than 300000 bytes' })).toBe(
    'Too large to upload: File is larger than 300000 bytes',
  );
  expect(uploadMessage({ code: 'BAD_USER_INPUT', message: 'Not an image', field: 'file' })).toMatch(
    /^Not a supported image \(JPEG, PNG, WebP, GIF or AVIF\)/,
  );
  expect(
    uploadMessage({
      code: 'QUOTA_EXCEEDED',
      message: 'quota',
      usedBytes: 99 * 1024 * 1024,
      limitBytes: 100 * 1024 * 1024,
    }),
  ).toBe('Your storage is full (99 MB of 100 MB used). Delete some photos to make room.');
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

it('never shows an internal error message, and explains outages and lost connections', () => {
  expect(generalMessage({ code: 'INTERNAL_SERVER_ERROR', message: 'TypeError: x is undefined' })).toBe(
    'Something went wrong on our side. Try again.',
  );
  expect(generalMessage({ code: 'SERVICE_UNAVAILABLE', message: 'db down' })).toMatch(/busy or briefly down/);
  expect(generalMessage({ code: 'NETWORK_ERROR', message: '' })).toMatch(/Could not reach the server/);
});
