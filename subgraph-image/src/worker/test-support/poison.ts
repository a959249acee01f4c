/** Bytes that make `worker-process.ts crash-on-poison` die, appended to an image (after PNG's IEND, ignored by decoders). */
export const POISON_MARKER = 'imagehub-test-poison-pill';
