/**
 * changePassword at the auth subgraph, the cases the gateway test (gateway/src/accounts.test.ts)
 * cannot reach: the caller's session ended between the token check and the change, and an access
 * token without a session id (`sid`), which names no session to keep.
 */
import jwt from 'jsonwebtoken';
import { type StartedAuthService, startAuthService } from './test-support';

const CHANGE = `mutation Change($current: String!, $next: String!) {
  changePassword(currentPassword: $current, newPassword: $next) { accessToken refreshToken }
}`;
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
const NEW_PASSWORD = 'a brand new passphrase';

let auth: StartedAuthService;
beforeAll(async () => {
  auth = await startAuthService();
});
afterAll(async () => {
  await auth.close();
});

const change = (token: string, current: string) =>
  auth.graphql<{ changePassword: { accessToken: string; refreshToken: string } }>(
    CHANGE,
    { current, next: NEW_PASSWORD },
    { authorization: `Bearer ${token}` },
  );
const signsIn = async (email: string, password: string) =>
  (await auth.graphql(LOGIN, { email, password })).errors === undefined;
const sidOf = (token: string) => (jwt.decode(token) as { sid?: string }).sid;

it('changes nothing when the caller’s session ended after its token was checked (SESSION_REVOKED)', async () => {
  const user = await auth.registerUser();
  // Ended without being listed yet: the revocation list still lets the token through, as it would
  // for a session revoked by another replica a moment ago.
  await auth
    .db('auth.sessions')
    .where({ id: sidOf(user.accessToken) })
    .update({ revoked_at: auth.db.fn.now() });
  const result = await change(user.accessToken, user.password);
  expect(result.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
  expect(await signsIn(user.email, user.password)).toBe(true);
  expect(await signsIn(user.email, NEW_PASSWORD)).toBe(false);
});

it('with a token that names no session, ends every session and opens a new one for the caller', async () => {
  const user = await auth.registerUser();
  const { header, payload } = jwt.decode(user.accessToken, { complete: true }) as jwt.Jwt;
  const { sid, ...claims } = payload as jwt.JwtPayload;
  const withoutSid = jwt.sign(claims, auth.config.jwt.privateKeys[0]!, {
    algorithm: 'ES256',
    keyid: header.kid,
  });
  const result = await change(withoutSid, user.password);
  expect(result.errors).toBeUndefined();
  const fresh = result.data!.changePassword;
  expect(sidOf(fresh.accessToken)).not.toBe(sid);
  const live = await auth.db('auth.sessions').where({ user_id: user.id }).whereNull('revoked_at').pluck('id');
  expect(live).toEqual([sidOf(fresh.accessToken)]);
  expect(await signsIn(user.email, NEW_PASSWORD)).toBe(true);
});
