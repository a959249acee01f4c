/**
 * Hostile cases of the accounts issue (15): sessions, their revocation and password changes, run by
 * hostile.test.ts with the rest of the table. Alice's own session must survive every case (the
 * runner checks each service with her token afterwards), so cases that end a session end a fresh
 * one of hers.
 */
import { codesOf, eventually, type GraphQLResult, noisePng } from '@imagehub/test-kit';
import type { ServiceName } from '../support/system';
import type { HostileCase, HostileContext, Outcome } from './cases';

const UNAUTH = ['UNAUTHENTICATED'];
const NOT_FOUND = ['NOT_FOUND'];
const HUGE = 'A'.repeat(60_000);
const SESSIONS = '{ mySessions { id userAgent current } }';
const REVOKE = 'mutation($id: ID!) { revokeSession(id: $id) }';
const EVERYWHERE = 'mutation { logoutEverywhere }';
const CHANGE =
  'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken } }';
const ME = '{ me { id } }';
const MY_IMAGES = '{ myImages(first: 1) { totalCount } }';

// The same shape as cases.ts' outcomeOf (not imported from there: cases.ts imports this file).
const outcomeOf = (result: GraphQLResult): Outcome => ({
  status: result.status,
  codes: codesOf(result),
  fields: (result.errors ?? []).map((e) => String(e.extensions?.field ?? '')),
  data: result.data,
  text: result.text,
});

const gql = async (
  ctx: HostileContext,
  service: ServiceName,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
) => outcomeOf(await ctx.sys.gql(query, variables, token, { service }));

const sessionIdOf = (accessToken: string) =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }).sid;

/** Bob can still do everything: the attack on his session changed nothing. */
async function bobUntouched(ctx: HostileContext): Promise<void> {
  for (const [service, query] of [
    ['subgraph-auth', ME],
    ['subgraph-image', MY_IMAGES],
  ] as const) {
    const result = await ctx.sys.gql(query, {}, ctx.bob.accessToken, { service });
    expect(result.errors).toBeUndefined();
  }
  const sessions = await ctx.sys.gql<{ mySessions: { id: string }[] }>(SESSIONS, {}, ctx.bob.accessToken);
  expect(sessions.data?.mySessions.map((s) => s.id)).toContain(sessionIdOf(ctx.bob.accessToken));
}

/** A fresh session of Alice's, logged out, and refused by the auth subgraph already (the others follow within the bound). */
async function revokedAliceToken(ctx: HostileContext): Promise<string> {
  const session = await ctx.sys.login(ctx.alice.email, ctx.alice.password);
  const out = await ctx.sys.gql('mutation($t: String!) { logout(refreshToken: $t) }', {
    t: session.refreshToken,
  });
  expect(out.data).toEqual({ logout: true });
  return session.accessToken;
}

/** Waits until `service` refuses the revoked token (the documented bound is about a second). */
async function refusedBy(service: ServiceName, ask: () => Promise<Outcome>): Promise<Outcome> {
  let last: Outcome | undefined;
  await eventually(`${service} refuses a revoked token`, 5_000, async () => {
    last = await ask();
    return /SESSION_REVOKED/.test(last.text);
  });
  return last!;
}

const revokedTokenCases: HostileCase[] = [
  ...(['subgraph-auth', 'subgraph-image'] as const).map(
    (service): HostileCase => ({
      name: `${service}: an access token of a logged-out session (SESSION_REVOKED)`,
      category: 'sessions',
      service,
      prepare: revokedAliceToken,
      attack: (ctx, token) =>
        refusedBy(service, () =>
          gql(ctx, service, service === 'subgraph-auth' ? ME : MY_IMAGES, {}, token as string),
        ),
      codes: UNAUTH,
      check: (o) => expect(o.text).toContain('SESSION_REVOKED'),
    }),
  ),
  {
    name: 'gateway: an upload with an access token of a logged-out session (SESSION_REVOKED, nothing stored)',
    category: 'sessions',
    service: 'gateway',
    // Waits (without writing) until the image subgraph refuses the token, so that the upload
    // cannot be stored whichever of the two verifiers on its way refuses it first.
    prepare: async (ctx) => {
      const token = await revokedAliceToken(ctx);
      await refusedBy('subgraph-image', () => gql(ctx, 'subgraph-image', MY_IMAGES, {}, token));
      return token;
    },
    attack: async (ctx, token) => outcomeOf(await ctx.sys.upload(noisePng(6, 6), token as string)),
    codes: UNAUTH,
    check: (o) => expect(o.text).toContain('SESSION_REVOKED'),
  },
  ...(['gateway', 'subgraph-auth', 'subgraph-image'] as const).map(
    (service): HostileCase => ({
      name: `${service}: a real-key token whose session id is not a UUID`,
      category: 'sessions',
      service,
      attack: (ctx) =>
        gql(
          ctx,
          service,
          service === 'subgraph-image' ? MY_IMAGES : ME,
          {},
          ctx.tokens.real({ sub: ctx.alice.userId, sid: "' or 1=1 --" }),
        ),
      codes: UNAUTH,
      check: (o) => expect(o.text).toContain('TOKEN_INVALID'),
    }),
  ),
];

const sessionCases: HostileCase[] = [
  {
    name: "revokeSession: another user's session id (NOT_FOUND; it keeps working)",
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', REVOKE, { id: sessionIdOf(ctx.bob.accessToken) }, ctx.alice.accessToken),
    codes: NOT_FOUND,
    check: (_o, ctx) => bobUntouched(ctx),
  },
  {
    name: "revokeSession: another user's session id, straight at the auth subgraph",
    category: 'sessions',
    service: 'subgraph-auth',
    attack: (ctx) =>
      gql(ctx, 'subgraph-auth', REVOKE, { id: sessionIdOf(ctx.bob.accessToken) }, ctx.alice.accessToken),
    codes: NOT_FOUND,
    check: (_o, ctx) => bobUntouched(ctx),
  },
  {
    name: 'revokeSession: an id that is SQL',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', REVOKE, { id: "x' or user_id is not null --" }, ctx.alice.accessToken),
    codes: NOT_FOUND,
    check: (_o, ctx) => bobUntouched(ctx),
  },
  {
    name: 'revokeSession: 60 kB id',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', REVOKE, { id: HUGE }, ctx.alice.accessToken),
    codes: NOT_FOUND,
  },
  {
    name: "revokeSession: another user's session id without a token",
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', REVOKE, { id: sessionIdOf(ctx.bob.accessToken) }),
    codes: UNAUTH,
    check: (_o, ctx) => bobUntouched(ctx),
  },
  {
    name: "revokeSession: another user's session id with a forged token naming them",
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        REVOKE,
        { id: sessionIdOf(ctx.bob.accessToken) },
        ctx.tokens.forged(ctx.bob.userId),
      ),
    codes: UNAUTH,
    check: (_o, ctx) => bobUntouched(ctx),
  },
  {
    name: "mySessions: lists only the caller's sessions, none of another user's",
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', SESSIONS, {}, ctx.alice.accessToken),
    codes: 'none',
    check: (o, ctx) => {
      expect(o.text).toContain(sessionIdOf(ctx.alice.accessToken));
      expect(o.text).not.toContain(sessionIdOf(ctx.bob.accessToken));
    },
  },
  {
    name: 'mySessions: without a token',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', SESSIONS),
    codes: UNAUTH,
  },
  {
    name: 'logoutEverywhere: with a forged token naming another user (their sessions stay)',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', EVERYWHERE, {}, ctx.tokens.forged(ctx.bob.userId)),
    codes: UNAUTH,
    check: (_o, ctx) => bobUntouched(ctx),
  },
  {
    name: 'logoutEverywhere: without a token',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', EVERYWHERE),
    codes: UNAUTH,
  },
  {
    name: 'changePassword: wrong current password (BAD_CREDENTIALS; the password and sessions stay)',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        CHANGE,
        { c: 'not alice password', n: 'a brand new passphrase' },
        ctx.alice.accessToken,
      ),
    codes: UNAUTH,
    check: (o) => expect(o.text).toContain('BAD_CREDENTIALS'),
  },
  {
    name: 'changePassword: 60 kB current password (refused before bcrypt)',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) =>
      gql(ctx, 'gateway', CHANGE, { c: HUGE, n: 'a brand new passphrase' }, ctx.alice.accessToken),
    codes: ['BAD_USER_INPUT'],
    field: 'currentPassword',
  },
  {
    name: 'changePassword: 60 kB new password',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) => gql(ctx, 'gateway', CHANGE, { c: ctx.alice.password, n: HUGE }, ctx.alice.accessToken),
    codes: ['BAD_USER_INPUT'],
    field: 'newPassword',
  },
  {
    name: 'changePassword: with a forged token naming another user and a guess at their password',
    category: 'sessions',
    service: 'gateway',
    attack: (ctx) =>
      gql(
        ctx,
        'gateway',
        CHANGE,
        { c: ctx.bob.password, n: 'a brand new passphrase' },
        ctx.tokens.forged(ctx.bob.userId),
      ),
    codes: UNAUTH,
    check: (_o, ctx) => bobUntouched(ctx),
  },
  {
    name: 'gateway: GET /revoked-sessions is not routed to the auth subgraph',
    category: 'sessions',
    service: 'gateway',
    attack: async (ctx) => {
      const response = await ctx.sys.request('gateway', '/revoked-sessions');
      return { status: response.status, codes: [], fields: [], text: await response.text() };
    },
    check: (o) => expect(o.text).not.toContain('sessionIds'),
  },
];

export const accountsCases: HostileCase[] = [...revokedTokenCases, ...sessionCases];
