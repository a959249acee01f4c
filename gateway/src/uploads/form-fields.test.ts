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

  it.each([
    ['not JSON', '{', 'The "map" field is not valid JSON'],
    ['an array', '[]', 'The "map" field must be an object'],
    ['two files', '{"0":["variables.a"],"1":["variables.b"]}', 'Only one file per request is accepted'],
    ['an empty path list', '{"0":[]}', 'Every "map" entry must be a non-empty list of paths'],
    ['a path that is not a string', '{"0":[1]}', 'Every "map" entry must be a non-empty list of paths'],
    [
      'one file for two variables',
      '{"0":["variables.a","variables.b"]}',
      'A file can be mapped to one variable only',
    ],
  ])('refuses %s as BAD_REQUEST', (_label, text, message) => {
    expect(refusal(() => parseMap(text))).toEqual({ status: 400, code: 'BAD_REQUEST', message });
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
    ['outside variables', 'query', 'Map path "query" must point into "variables"'],
    ['at variables itself', 'variables', 'Map path "variables" must point into "variables"'],
    [
      'to a variable that does not exist',
      'variables.other',
      'Map path "variables.other" does not exist in the operations',
    ],
    [
      'through a missing object',
      'variables.a.b',
      'Map path "variables.a.b" does not exist in the operations',
    ],
  ])('refuses a path %s', (_label, path, message) => {
    const operations = { query: 'x', variables: { file: null } };
    expect(refusal(() => placeUpload(operations, path, upload()))).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
      message,
    });
    expect(operations.variables.file).toBeNull();
  });
});
