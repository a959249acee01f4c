/**
 * Session lifetime and the revocation list, at the auth subgraph: the absolute session expiry,
 * and the list staying small (rows pruned once their access tokens would have expired anyway).
 */
import { randomUUID } from 'node:crypto';
import { eventually } from '@imagehub/service-kit';
import jwt from 'jsonwebtoken';
import { type StartedAuthService, startAuthService } from './test-support';

const REFRESH = 'mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }';
const SESSIONS = '{ mySessions { id } }';

describe('session lifetime', () => {
  let auth: StartedAuthService;
  beforeAll(async () => {
    // Refresh tokens would live a day on their own; the session ends after 2 s regardless.
    auth = await startAuthService({ env: { SESSION_MAX_AGE: '2', REFRESH_TOKEN_TTL: '86400' } });
  });
  afterAll(async () => {
    await auth?.close();
  });

  it('is absolute: refreshing keeps working until SESSION_MAX_AGE after sign-in, then never again', async () => {
    const user = await auth.registerUser();
    let token = user.refreshToken;
    let refreshes = 0;
    // Each refresh rotates the token; a sliding lifetime would let this go on forever.
    await eventually(
      'the session to end however often it is refreshed',
      10_000,
      async () => {
        const result = await auth.graphql<{ refreshToken: { refreshToken: string } }>(REFRESH, { t: token });
        if (result.data?.refreshToken) {
          token = result.data.refreshToken.refreshToken;
          refreshes += 1;
          return false;
        }
        expect(result.errors?.[0]?.extensions).toMatchObject({ reason: 'REFRESH_TOKEN_INVALID' });
        return true;
      },
      200,
    );
    expect(refreshes).toBeGreaterThan(0);
    // An ended session is no longer listed, and its refresh tokens stay refused.
    const fresh = await auth.graphql<{ mySessions: { id: string }[] }>(
      SESSIONS,
      {},
      {
        authorization: `Bearer ${user.accessToken}`,
      },
    );
    expect(fresh.data?.mySessions).toEqual([]);
    const again = await auth.graphql(REFRESH, { t: token });
    expect(again.errors?.[0]?.extensions).toMatchObject({ reason: 'REFRESH_TOKEN_INVALID' });
  });
});

describe('the revocation list', () => {
  let auth: StartedAuthService;
  beforeAll(async () => {
    auth = await startAuthService();
  });
  afterAll(async () => {
    await auth?.close();
  });

  it('lists a session until its last access token would have expired (ACCESS_TOKEN_MAX_TTL), and prunes it after', async () => {
    const stale = randomUUID();
    await auth.db('auth.session_revocations').insert({
      session_id: stale,
      revoked_at: auth.db.raw("now() - interval '2 hours'"),
      expires_at: auth.db.raw("now() - interval '1 hour'"),
    });
    const user = await auth.registerUser();
    const sid = (jwt.decode(user.accessToken) as { sid: string }).sid;
    const result = await auth.graphql(
      'mutation { logoutEverywhere }',
      {},
      { authorization: `Bearer ${user.accessToken}` },
    );
    expect(result.data).toEqual({ logoutEverywhere: true });

    const rows: { session_id: string; ttl: number }[] = await auth
      .db('auth.session_revocations')
      .select('session_id', auth.db.raw('extract(epoch from expires_at - revoked_at)::int as ttl'))
      .whereIn('session_id', [sid, stale]);
    // ACCESS_TOKEN_MAX_TTL (3600) plus the verifiers' clock tolerance (5 s).
    expect(rows).toEqual([{ session_id: sid, ttl: 3605 }]);

    const listed = (await (await fetch(`${auth.url}/revoked-sessions`)).json()) as { sessionIds: string[] };
    expect(listed.sessionIds).toContain(sid);
    expect(listed.sessionIds).not.toContain(stale);
  });

  it('refuses the revoked access token at once at the auth subgraph itself', async () => {
    const user = await auth.registerUser();
    const headers = { authorization: `Bearer ${user.accessToken}` };
    await auth.graphql('mutation { logoutEverywhere }', {}, headers);
    const me = await auth.graphql('{ me { id } }', {}, headers);
    expect(me.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
  });
});
