import {
  DEFAULT_PAGE_SIZE as SUBGRAPH_DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE as SUBGRAPH_MAX_PAGE_SIZE,
} from '@imagehub/subgraph-image/test-support';
import {
  GraphQLError,
  type GraphQLSchema,
  getIntrospectionQuery,
  type OperationDefinitionNode,
  parse,
} from 'graphql';
import { composeSupergraph, readWorkingTreeSdl } from '../supergraph/compose';
import { PROJECT_QUERIES, reviewerQuery } from '../test-support/queries';
import {
  DEFAULT_PAGE_SIZE,
  effectivePageSize,
  knownOperationCost,
  MAX_PAGE_SIZE,
  operationCost,
} from './cost';

let schema: GraphQLSchema;
beforeAll(() => {
  const outcome = composeSupergraph(readWorkingTreeSdl());
  if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
  schema = outcome.apiSchema;
});

const cost = (query: string, variables?: Record<string, unknown>) => {
  const document = parse(query);
  const operation = document.definitions.find(
    (d) => d.kind === 'OperationDefinition',
  ) as OperationDefinitionNode;
  return operationCost(schema, document, operation, variables);
};

describe('operationCost', () => {
  it('counts the page sizes the image subgraph applies', () => {
    expect(DEFAULT_PAGE_SIZE).toBe(SUBGRAPH_DEFAULT_PAGE_SIZE);
    expect(MAX_PAGE_SIZE).toBe(SUBGRAPH_MAX_PAGE_SIZE);
    expect([effectivePageSize(1000), effectivePageSize(7), effectivePageSize(0)]).toEqual([100, 7, 0]);
    expect([effectivePageSize(null), effectivePageSize(undefined), effectivePageSize(-5)]).toEqual([
      20, 20, 0,
    ]);
  });

  it('counts one per field, and a page once per item it may hold', () => {
    // me 1 + id 1 + name 1 + images (1 + 20 × (edges 1 + node 1 + id 1 + url 1 + owner 1 + name 1))
    expect(cost(PROJECT_QUERIES.journey)).toBe(124);
    expect(cost(PROJECT_QUERIES.gallery, { first: 24, after: null })).toBe(1 + 24 * 15);
  });

  it('takes `first` from the literal, the variable or the default alike, capped at 100', () => {
    const page = (first: string) => `myImages${first} { edges { node { id } } }`;
    expect(cost(`{ ${page('(first: 1000)')} }`)).toBe(301);
    expect(cost(`query($f: Int) { ${page('(first: $f)')} }`, { f: 1000 })).toBe(301);
    expect(cost(`query($f: Int = 1000) { ${page('(first: $f)')} }`)).toBe(301);
    expect(cost(`{ ${page('')} }`)).toBe(61);
    expect(cost(`query($f: Int) { ${page('(first: $f)')} }`)).toBe(61);
    expect(cost(`query($f: Int) { ${page('(first: $f)')} }`, { f: null })).toBe(61);
    expect(cost(`{ ${page('(first: 0)')} totalCount: myImages(first: 0) { totalCount } }`)).toBe(2);
  });

  it("prices the reviewer's query the same written with literals or with variables", () => {
    expect(cost(`{ ${reviewerQuery('100')} }`)).toBe(50_401);
    expect(cost(`query($f: Int) { ${reviewerQuery('$f')} }`, { f: 100 })).toBe(50_401);
    const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: ${reviewerQuery('$f')}`).join(' ');
    expect(cost(`query($f: Int) { ${aliases} }`, { f: 100 })).toBe(15 * 50_401);
  });

  it('leaves out what @skip and @include leave out, with their variables', () => {
    const query = `query($skip: Boolean!) { me { id } ... @skip(if: $skip) { ${reviewerQuery('100')} } }`;
    expect(cost(query, { skip: true })).toBe(2);
    expect(cost(query, { skip: false })).toBe(50_403);
  });

  it("keeps the project's own queries and the IDE's introspection far below the default limit", () => {
    for (const [name, query] of Object.entries(PROJECT_QUERIES)) {
      expect({ name, cost: cost(query, { first: 24 }) < 1000 }).toEqual({ name, cost: true });
    }
    expect(cost(getIntrospectionQuery())).toBeLessThan(1000);
  });

  it('gives up on a fragment fan-out after a bounded count rather than expanding it', () => {
    const fragments = ['fragment F0 on User { id name }'];
    for (let i = 1; i <= 30; i++) fragments.push(`fragment F${i} on User { ...F${i - 1} ...F${i - 1} }`);
    const started = Date.now();
    expect(() => cost(`query FanOut { me { ...F30 } } ${fragments.join(' ')}`)).toThrow(GraphQLError);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('knownOperationCost', () => {
  const operationOf = (query: string) => {
    const document = parse(query);
    return { document, operation: document.definitions[0] as OperationDefinitionNode };
  };

  it('keeps a count per page size and @skip value, never serving one for another', () => {
    const { document, operation } = operationOf(
      `query Page($f: Int, $skip: Boolean!, $note: String) { myImages(first: $f) { edges { node { id } } } ... @skip(if: $skip) { me { id } } }`,
    );
    const known = (variables: Record<string, unknown>) =>
      knownOperationCost(schema, document, operation, { note: 'x', ...variables });
    expect(known({ f: 1000, skip: true })).toBe(301);
    expect(known({ f: 7, skip: true })).toBe(22);
    expect(known({ f: 7, skip: false })).toBe(24);
    // Again, from what was kept: the same answers.
    expect(known({ f: 1000, skip: true })).toBe(301);
    expect(known({ f: 7, skip: true, note: 'another string, not part of the key' })).toBe(22);
    expect(known({ f: 7, skip: false })).toBe(24);
  });

  it('counts nothing for variables that do not fit their types (the executor refuses them)', () => {
    const { document, operation } = operationOf(`query($f: Int) { myImages(first: $f) { totalCount } }`);
    expect(knownOperationCost(schema, document, operation, { f: 'many' })).toBeUndefined();
    expect(knownOperationCost(schema, document, operation, { f: 5 })).toBe(6);
  });
});
