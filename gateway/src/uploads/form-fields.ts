/**
 * The two JSON fields of a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec)
 * and where the file goes in the operation: pure functions, every refusal coded as the image subgraph
 * codes the same form. A field that is not JSON, or not of the spec's shape, makes the request
 * unusable: BAD_REQUEST (the contract's "malformed multipart"). A usable form that says something
 * wrong about the file (none, two, a path to nowhere) is the `file` argument's problem: BAD_USER_INPUT.
 */
import { ErrorCode, ONE_FILE_PER_REQUEST } from '@imagehub/service-kit';
import { type StreamedUpload, UploadRequestError } from './upload';

export const badRequest = (message: string) => new UploadRequestError(400, ErrorCode.BAD_REQUEST, message);
export const badUpload = (message: string) => new UploadRequestError(400, ErrorCode.BAD_USER_INPUT, message);

export function parseOperations(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The "operations" field is not valid JSON');
  }
  if (Array.isArray(value)) throw badRequest('Batched operations are not supported');
  if (value === null || typeof value !== 'object')
    throw badRequest('The "operations" field must be an object');
  return value as Record<string, unknown>;
}

export function parseMap(text: string): Record<string, string[]> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The "map" field is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('The "map" field must be an object');
  }
  const entries = Object.entries(value);
  if (entries.length > 1) throw badUpload(ONE_FILE_PER_REQUEST);
  for (const [, paths] of entries) {
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) {
      throw badRequest('Every "map" entry must be a non-empty list of paths');
    }
    if (paths.length === 0) throw badUpload('Every "map" entry must be a non-empty list of paths');
    // A stream can be read once: one file feeds one variable.
    if (paths.length > 1) throw badUpload('A file can be mapped to one variable only');
  }
  return value as Record<string, string[]>;
}

/** Puts the upload where a map path ("variables.file", "variables.input.files.0") points. */
export function placeUpload(operations: Record<string, unknown>, path: string, upload: StreamedUpload): void {
  const segments = path.split('.');
  if (segments[0] !== 'variables' || segments.length < 2) {
    throw badRequest(`Map path "${path}" must point into "variables"`);
  }
  let parent: unknown = operations;
  for (const segment of segments.slice(0, -1)) {
    parent =
      parent !== null && typeof parent === 'object'
        ? (parent as Record<string, unknown>)[segment]
        : undefined;
  }
  const last = segments[segments.length - 1]!;
  if (parent === null || typeof parent !== 'object' || !(last in parent)) {
    throw badUpload(`Map path "${path}" does not exist in the operations`);
  }
  (parent as Record<string, unknown>)[last] = upload;
}
