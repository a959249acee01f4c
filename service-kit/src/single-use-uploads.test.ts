import { Kind, type OperationDefinitionNode, parse } from 'graphql';
import { variableUses } from './single-use-uploads';

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
