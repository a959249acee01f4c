import { Readable } from 'node:stream';
import { parseMap, parseOperations, placeUpload } from './form-fields';
import { StreamedUpload, UploadRequestError } from './upload';

/** The refusal a function throws: its class, status, code and message. */
function refusal(run: () => unknown) {
  try {
    run();
  } catch (error) {
    if (!(error instanceof UploadRequestError)) throw error;
    return { status: error.status, code: error.code, message: error.message };
  }
  throw new Error('expected a refusal');
}

const upload = () => new StreamedUpload('cat.png', 'image/png', Readable.from([]));

describe('parseOperations', () => {
  it('accepts one operation object', () => {
    expect(parseOperations('{"query":"{ x }","variables":{"file":null}}')).toEqual({
      query: '{ x }',
      variables: { file: null },
    });
  });

  it.each([
    ['not JSON', '{"query":', 'The "operations" field is not valid JSON'],
    ['a batch', '[{"query":"{ x }"}]', 'Batched operations are not supported'],
    ['a string', '"query"', 'The "operations" field must be an object'],
    ['null', 'null', 'The "operations" field must be an object'],
  ])('refuses %s as BAD_REQUEST', (_label, text, message) => {
    expect(refusal(() => parseOperations(text))).toEqual({ status: 400, code: 'BAD_REQUEST', message });
  });
});

describe('parseMap', () => {
  it('accepts one file mapped to one variable', () => {
    expect(parseMap('{"0":["variables.file"]}')).toEqual({ 0: ['variables.file'] });
  });

  // Not JSON, or not the spec's shape: the request is unusable. Usable, but wrong about the file: its input.
  it.each([
    ['not JSON', '{', 'BAD_REQUEST', 'The "map" field is not valid JSON'],
    ['an array', '[]', 'BAD_REQUEST', 'The "map" field must be an object'],
    [
      'a path that is not a string',
      '{"0":[1]}',
      'BAD_REQUEST',
      'Every "map" entry must be a non-empty list of paths',
    ],
    [
      'an empty path list',
      '{"0":[]}',
      'BAD_USER_INPUT',
      'Every "map" entry must be a non-empty list of paths',
    ],
    [
      'two files',
      '{"0":["variables.a"],"1":["variables.b"]}',
      'BAD_USER_INPUT',
      'Only one file per request is accepted',
    ],
    [
      'one file for two variables',
      '{"0":["variables.a","variables.b"]}',
      'BAD_USER_INPUT',
      'A file can be mapped to one variable only',
    ],
  ])('refuses %s as %s', (_label, text, code, message) => {
    expect(refusal(() => parseMap(text))).toEqual({ status: 400, code, message });
  });
});

describe('placeUpload', () => {
  it('puts the upload where the path points, also inside input objects and lists', () => {
    const file = upload();
    const operations = { query: 'x', variables: { input: { files: [null] } } };
    placeUpload(operations, 'variables.input.files.0', file);
    expect(operations.variables.input.files[0]).toBe(file);
  });

  it.each([
    ['outside variables', 'query', 'BAD_REQUEST', 'Map path "query" must point into "variables"'],
    ['at variables itself', 'variables', 'BAD_REQUEST', 'Map path "variables" must point into "variables"'],
    [
      'to a variable that does not exist',
      'variables.other',
      'BAD_USER_INPUT',
      'Map path "variables.other" does not exist in the operations',
    ],
    [
      'through a missing object',
      'variables.a.b',
      'BAD_USER_INPUT',
      'Map path "variables.a.b" does not exist in the operations',
    ],
  ])('refuses a path %s as %s', (_label, path, code, message) => {
    const operations = { query: 'x', variables: { file: null } };
    expect(refusal(() => placeUpload(operations, path, upload()))).toEqual({ status: 400, code, message });
    expect(operations.variables.file).toBeNull();
  });
});
