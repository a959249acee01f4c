import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse, specifiedRules, validate } from 'graphql';
import { guardEntityRepresentations, hideServiceSdl } from './federation';

const schema = guardEntityRepresentations(
  buildSubgraphSchema({
    typeDefs: parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type User @key(fields: "id") { id: ID! name: String! }
      type Query { hello: String }
    `),
    resolvers: {
      User: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: 'Ada' }) },
    } as never,
  }),
);

const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }';

describe('guardEntityRepresentations', () => {
  it.each([
    [[{}]],
    [[1]],
    [[{ __typename: 'Query' }]],
    [[{ __typename: 'Nope', id: '1' }]],
    [[{ __typename: 'User' }]],
    [[{ __typename: 'User', id: { $gt: '' } }]],
  ])('refuses %j with BAD_USER_INPUT', async (representations) => {
    const result = await graphql({ schema, source: ENTITIES, variableValues: { r: representations } });
    expect(result.errors?.map((e) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('resolves well-formed representations as before', async () => {
    const result = await graphql({
      schema,
      source: ENTITIES,
      variableValues: { r: [{ __typename: 'User', id: '7' }] },
    });
    expect(result).toEqual({ data: { _entities: [{ id: '7', name: 'Ada' }] } });
  });
});

describe('hideServiceSdl', () => {
  it('answers `_service` like a field that does not exist', () => {
    const errors = validate(schema, parse('{ _service { sdl } }'), [...specifiedRules, hideServiceSdl]);
    expect(errors.map((e) => e.message)).toEqual(['Cannot query field "_service" on type "Query".']);
    expect(validate(schema, parse('{ hello }'), [...specifiedRules, hideServiceSdl])).toEqual([]);
  });
});
