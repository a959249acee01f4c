import {
  buildSchema,
  type GraphQLInputType,
  GraphQLNonNull,
  Kind,
  type OperationDefinitionNode,
  parse,
} from 'graphql';
import { fileOutsideUpload, variableUses } from './single-use-uploads';

const usesIn = (source: string) => {
  const document = parse(source);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )!;
  return Object.fromEntries(variableUses(document, operation));
};

describe('variableUses', () => {
  it('counts each reference, aliases and directives included', () => {
    expect(
      usesIn(
        'mutation($f: Upload!, $s: Boolean!) { a: up(file: $f) { id } b: up(file: $f) @skip(if: $s) { id } }',
      ),
    ).toEqual({ f: 2, s: 1 });
  });

  it('counts a fragment once per spread, and not the variable definitions', () => {
    expect(
      usesIn(
        'mutation($f: Upload!) { ...U ... on Mutation { ...U } } fragment U on Mutation { up(file: $f) { id } }',
      ),
    ).toEqual({ f: 2 });
    expect(usesIn('mutation($f: Upload!) { up(file: $f) { id } }')).toEqual({ f: 1 });
  });
});

describe('fileOutsideUpload', () => {
  const schema = buildSchema(`
    scalar Upload
    input Album { id: ID, cover: Upload, pages: [Upload!] }
    type Query { x(a: Album): ID }
  `);
  const file = Symbol('file');
  const isUpload = (value: unknown) => value === file;
  const type = (name: string) => schema.getType(name) as GraphQLInputType;

  it('accepts a file where the type is Upload, in a list or an input object too', () => {
    expect(fileOutsideUpload(type('Upload'), file, isUpload)).toBeUndefined();
    expect(fileOutsideUpload(type('Album'), { cover: file, pages: [file] }, isUpload)).toBeUndefined();
    // A single value for a list: graphql-js coerces it to a list of one.
    expect(fileOutsideUpload(type('Album'), { pages: file }, isUpload)).toBeUndefined();
  });

  it('names the type of the place a file does not belong', () => {
    expect(fileOutsideUpload(type('ID'), file, isUpload)).toBe('ID');
    expect(fileOutsideUpload(type('Album'), { id: file }, isUpload)).toBe('ID');
    expect(fileOutsideUpload(new GraphQLNonNull(type('ID')), file, isUpload)).toBe('ID!');
  });
});
