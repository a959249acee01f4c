import { EntityMemo } from './entity-memo';

const ME = 'query R__auth__0 { me { __typename id name } }';
const OWNERS =
  'query R__auth__2($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { name } } }';
const id = '6a3c1f1e-8d0c-4f55-9b7a-0d1e2f3a4b5c';
const user = { __typename: 'User', id };

describe('EntityMemo', () => {
  it('answers an entity fetch of fields the same subgraph already returned for that entity', () => {
    const memo = new EntityMemo();
    memo.record('auth', ME, { data: { me: { __typename: 'User', id, name: 'Ada' } } });
    expect(memo.answer('auth', OWNERS, { representations: [user, user] })).toEqual({
      data: { _entities: [{ name: 'Ada' }, { name: 'Ada' }] },
    });
    // Another subgraph's fetch, another entity or another field goes out as before.
    expect(memo.answer('image', OWNERS, { representations: [user] })).toBeUndefined();
    expect(
      memo.answer('auth', OWNERS, { representations: [{ ...user, id: id.replace('6', '7') }] }),
    ).toBeUndefined();
    const withEmail = OWNERS.replace('{ name }', '{ name email }');
    expect(memo.answer('auth', withEmail, { representations: [user] })).toBeUndefined();
  });

  it('records by field name, never by the alias, and only plain leaves of typed, keyed objects', () => {
    const memo = new EntityMemo();
    memo.record('auth', 'query { me { __typename id name: email } }', {
      data: { me: { __typename: 'User', id, name: 'ada@example.test' } },
    });
    expect(memo.answer('auth', OWNERS, { representations: [user] })).toBeUndefined();
    expect(
      memo.answer('auth', OWNERS.replace('{ name }', '{ n: email }'), { representations: [user] }),
    ).toEqual({
      data: { _entities: [{ n: 'ada@example.test' }] },
    });

    const untyped = new EntityMemo();
    untyped.record('auth', 'query { me { id name } }', {
      data: { me: { __typename: 'User', id, name: 'Ada' } },
    });
    untyped.record('auth', 'query { me { t: __typename id name } }', {
      data: { me: { t: 'User', id, name: 'Ada' } },
    });
    expect(untyped.answer('auth', OWNERS, { representations: [user] })).toBeUndefined();
  });

  it('learns nothing from an answer with errors, a mutation, or a null', () => {
    const memo = new EntityMemo();
    memo.record('auth', ME, {
      data: { me: { __typename: 'User', id, name: 'Ada' } },
      errors: [{ message: 'x' }],
    });
    memo.record('auth', 'mutation { login { user { __typename id name } } }', {
      data: { login: { user: { __typename: 'User', id, name: 'Ada' } } },
    });
    memo.record('auth', ME, { data: { me: { __typename: 'User', id, name: null } } });
    expect(memo.answer('auth', OWNERS, { representations: [user] })).toBeUndefined();
  });

  it('answers only plain entity fetches with exact { __typename, id } representations', () => {
    const memo = new EntityMemo();
    memo.record('auth', ME, { data: { me: { __typename: 'User', id, name: 'Ada' } } });
    expect(memo.answer('auth', OWNERS, { representations: [{ ...user, extra: 1 }] })).toBeUndefined();
    expect(memo.answer('auth', OWNERS, { representations: [] })).toBeUndefined();
    expect(memo.answer('auth', OWNERS, {})).toBeUndefined();
    expect(
      memo.answer('auth', OWNERS.replace('{ name }', '{ name @skip(if: false) }'), {
        representations: [user],
      }),
    ).toBeUndefined();
    expect(memo.answer('auth', 'query { me { name } }', { representations: [user] })).toBeUndefined();
    expect(memo.answer('auth', 'not graphql', { representations: [user] })).toBeUndefined();
    expect(
      memo.answer('auth', OWNERS.replace('{ name }', '{ __typename name }'), { representations: [user] }),
    ).toEqual({ data: { _entities: [{ __typename: 'User', name: 'Ada' }] } });
  });

  it('walks lists and fragments on the exact type', () => {
    const memo = new EntityMemo();
    memo.record(
      'auth',
      'query { a: list { __typename ... on User { id name } ... on Other { id name: email } } }',
      {
        data: { a: [{ __typename: 'User', id, name: 'Ada' }] },
      },
    );
    expect(memo.answer('auth', OWNERS, { representations: [user] })).toEqual({
      data: { _entities: [{ name: 'Ada' }] },
    });
  });
});
