/**
 * Hostile cases of deleteAccount (issue 15): nobody deletes an account without its valid access
 * token and its password, whichever token, password or shape they try, and nothing is deleted on the
 * way. The runner checks that no user, session, image or blob row changed. Wrong passwords go to a
 * fresh account of each case (prepare), so the login throttle they count against locks nobody else.
 */
import type { AuthSession } from '../support/system';
import type { HostileCase, HostileContext } from './cases';
import { gql } from './outcome';

const UNAUTH = ['UNAUTHENTICATED'];
const VALIDATION = ['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'];
const DELETE = 'mutation($p: String!) { deleteAccount(password: $p) }';

const badCredentials = (o: { text: string }) => expect(o.text).toContain('BAD_CREDENTIALS');
const fresh = (ctx: HostileContext) => ctx.sys.register();
/** The access token of the case's fresh account. */
const victimToken = (prepared: unknown) => (prepared as AuthSession).accessToken;

export const accountDeletionCases: HostileCase[] = [
  {
    name: 'gateway: deleteAccount without a token',
    category: 'tokens',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', DELETE, { p: ctx.alice.password }),
    codes: UNAUTH,
    check: (o) => expect(o.text).toContain('TOKEN_MISSING'),
  },
  {
    name: "gateway: deleteAccount with one's own token and another user's password",
    category: "another user's ids",
    service: 'gateway',
    prepare: fresh,
    attack: (ctx, victim) => gql(ctx, 'gateway', DELETE, { p: ctx.bob.password }, victimToken(victim)),
    codes: UNAUTH,
    check: badCredentials,
  },
  {
    name: 'gateway: deleteAccount of another user: own token with sub edited to theirs, their password',
    category: "another user's ids",
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        DELETE,
        { p: ctx.bob.password },
        ctx.tokens.tamperedSubject(ctx.alice.accessToken, ctx.bob.userId),
      ),
    codes: UNAUTH,
  },
  {
    name: 'gateway: deleteAccount with a forged token for another user and their password',
    category: 'tokens',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', DELETE, { p: ctx.bob.password }, ctx.tokens.forged(ctx.bob.userId)),
    codes: UNAUTH,
  },
  {
    name: 'gateway: deleteAccount with an expired token and the right password',
    category: 'tokens',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', DELETE, { p: ctx.alice.password }, ctx.tokens.expired(ctx.alice.userId)),
    codes: UNAUTH,
  },
  {
    name: 'gateway: deleteAccount with the refresh token as the access token',
    category: 'refresh tokens',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', DELETE, { p: ctx.alice.password }, ctx.alice.refreshToken),
    codes: UNAUTH,
  },
  {
    name: 'subgraph-auth: deleteAccount directly with a wrong password',
    category: 'tokens',
    service: 'subgraph-auth',
    prepare: fresh,
    attack: (ctx, victim) =>
      gql(ctx, 'subgraph-auth', DELETE, { p: 'not the password' }, victimToken(victim)),
    codes: UNAUTH,
    check: badCredentials,
  },
  {
    name: 'gateway: deleteAccount twice in one operation with wrong passwords',
    category: 'batching',
    service: 'gateway',
    prepare: fresh,
    attack: (ctx, victim) =>
      gql(
        ctx,
        'gateway',
        'mutation($a: String!, $b: String!) { one: deleteAccount(password: $a) two: deleteAccount(password: $b) }',
        { a: 'guess one', b: 'guess two' },
        victimToken(victim),
      ),
    codes: UNAUTH,
  },
  {
    name: 'gateway: deleteAccount with a 60 kB password',
    category: 'huge strings',
    service: 'gateway',
    prepare: fresh,
    attack: (ctx, victim) => gql(ctx, 'gateway', DELETE, { p: 'A'.repeat(60_000) }, victimToken(victim)),
    codes: ['BAD_USER_INPUT'],
    field: 'password',
  },
  {
    name: 'gateway: deleteAccount with a password that is not a string',
    category: 'request bodies',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', DELETE, { p: { $ne: null } }, ctx.alice.accessToken),
    codes: VALIDATION,
  },
];
