/**
 * SessionStore against the real database. `open`: one statement that writes the session, its first
 * refresh token, the revocation of the user's sessions beyond the bound and whatever rides along
 * (a login's throttle settlement), all or nothing. `rotate`: one statement that uses the token and
 * issues its successor, with exactly one winner when a token is used twice at once, and keeps only
 * the session's newest USED_REFRESH_TOKENS_KEPT used tokens.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createDb } from '@imagehub/db';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { SessionStore, USED_REFRESH_TOKENS_KEPT } from './sessions';
import { UserStore } from './users';

const db = createDb({ url: testDatabaseUrl(), applicationName: 'sessions-store-test', poolMax: 2 });
const MAX_PER_USER = 3;
const sessions = new SessionStore(db, {
  refreshTokenTtlSec: 3600,
  maxAgeSec: 7200,
  maxPerUser: MAX_PER_USER,
  revocationTtlSec: 600,
});
const users = new UserStore(db);
afterAll(async () => {
  await db.destroy();
});

const newUser = () =>
  db.transaction((trx) =>
    users.create(
      { email: `sessions-${randomUUID()}@example.test`, name: 'Store Test', passwordHash: 'not-a-real-hash' },
      trx,
    ),
  );

const liveIds = async (userId: string) => (await sessions.listLive(userId)).map((s) => s.id);

describe('SessionStore.open', () => {
  it('writes the session and its refresh token in one statement', async () => {
    const user = await newUser();
    const statements: string[] = [];
    const listener = (q: { sql: string }) => statements.push(q.sql);
    db.on('query', listener);
    const opened = await sessions.open(user.id, { userAgent: 'store test' });
    db.off('query', listener);
    expect(statements).toHaveLength(1);
    expect(await liveIds(user.id)).toEqual([opened.sessionId]);
    const rotated = await sessions.rotate(opened.refreshToken);
    expect(rotated).toMatchObject({ outcome: 'rotated', userId: user.id, sessionId: opened.sessionId });
  });

  it(`keeps the bound (${MAX_PER_USER}): the least recently used sessions end and are listed as revoked`, async () => {
    const user = await newUser();
    const opened = [];
    for (let i = 0; i < MAX_PER_USER; i++) opened.push(await sessions.open(user.id));
    // The first one is used again, so the second is now the least recently used.
    const rotated = await sessions.rotate(opened[0]!.refreshToken);
    expect(rotated.outcome).toBe('rotated');
    const next = await sessions.open(user.id);
    const live = await liveIds(user.id);
    expect(live).toHaveLength(MAX_PER_USER);
    expect(live).toContain(next.sessionId);
    expect(live).toContain(opened[0]!.sessionId);
    expect(live).not.toContain(opened[1]!.sessionId);
    expect(await sessions.listRevoked()).toContain(opened[1]!.sessionId);
    // Once more: again exactly the bound, the new session among them.
    const last = await sessions.open(user.id);
    const after = await liveIds(user.id);
    expect(after).toHaveLength(MAX_PER_USER);
    expect(after[0]).toBe(last.sessionId);
  });

  it('writes nothing when any part fails: no session, no token, no revocation, nothing alongside', async () => {
    const user = await newUser();
    const before = [];
    for (let i = 0; i < MAX_PER_USER; i++) before.push((await sessions.open(user.id)).sessionId);
    const marker = `sessions-test:${randomBytes(6).toString('hex')}`;
    const failing = {
      // Written first, then refused: a refresh token for a session that does not exist.
      sql: `marked as (insert into auth.rate_limits (key, points, expire) values (?, 1, null)),
            refused as (insert into auth.refresh_tokens (token_hash, session_id, expires_at)
                        values (?, ?, now() + interval '1 hour'))`,
      bindings: [marker, randomBytes(32), randomUUID()],
    };
    await expect(sessions.open(user.id, { alongside: failing })).rejects.toMatchObject({ code: '23503' });
    // The bound would have revoked the least recently used one; it stays live and unlisted.
    expect((await liveIds(user.id)).sort()).toEqual([...before].sort());
    expect(await sessions.listRevoked()).not.toContain(before[0]);
    expect(await db('auth.rate_limits').where('key', marker)).toEqual([]);
    const rows = await db('auth.sessions').where('user_id', user.id).count<{ count: string }[]>('* as count');
    expect(Number(rows[0]!.count)).toBe(MAX_PER_USER);
  });

  it('refuses a session for an account that no longer exists, and writes nothing alongside', async () => {
    const marker = `sessions-test:${randomBytes(6).toString('hex')}`;
    const alongside = {
      sql: 'marked as (insert into auth.rate_limits (key, points, expire) values (?, 1, null))',
      bindings: [marker],
    };
    await expect(sessions.open(randomUUID(), { alongside })).rejects.toMatchObject({ code: '23503' });
    expect(await db('auth.rate_limits').where('key', marker)).toEqual([]);
  });
});

describe('SessionStore.rotate', () => {
  it('marks the token used, touches its session and stores the successor, in one statement', async () => {
    const user = await newUser();
    const opened = await sessions.open(user.id);
    // An hour back, so that "touched" cannot pass by landing in the same millisecond as the sign-in.
    await db('auth.sessions')
      .where('id', opened.sessionId)
      .update({ last_used_at: db.raw("now() - interval '1 hour'") });
    const [before] = await db('auth.sessions').where('id', opened.sessionId).select('last_used_at');
    const statements: string[] = [];
    const listener = (q: { sql: string }) => statements.push(q.sql);
    db.on('query', listener);
    const rotated = await sessions.rotate(opened.refreshToken);
    db.off('query', listener);
    expect(statements).toHaveLength(1);
    expect(rotated).toMatchObject({ outcome: 'rotated', userId: user.id, sessionId: opened.sessionId });
    const [after] = await db('auth.sessions').where('id', opened.sessionId).select('last_used_at');
    expect(after.last_used_at.getTime()).toBeGreaterThan(before.last_used_at.getTime());
    // The successor works once; the old token presented again is reuse and ends the session.
    if (rotated.outcome !== 'rotated') throw new Error('not rotated');
    expect(rotated.refreshToken).not.toBe(opened.refreshToken);
    expect((await sessions.rotate(rotated.refreshToken)).outcome).toBe('rotated');
    expect(await sessions.rotate(opened.refreshToken)).toMatchObject({
      outcome: 'reused',
      sessionId: opened.sessionId,
    });
    expect(await liveIds(user.id)).toEqual([]);
    expect(await sessions.listRevoked()).toContain(opened.sessionId);
  });

  it('lets exactly one of two concurrent uses of a token rotate it; the other is reuse', async () => {
    const user = await newUser();
    const opened = await sessions.open(user.id);
    const outcomes = await Promise.all([
      sessions.rotate(opened.refreshToken),
      sessions.rotate(opened.refreshToken),
    ]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['reused', 'rotated']);
    const tokens = await db('auth.refresh_tokens').where('session_id', opened.sessionId);
    // The first token and exactly one successor: the loser wrote nothing.
    expect(tokens).toHaveLength(2);
  });

  it('never issues a successor that outlives its session', async () => {
    const shortLived = new SessionStore(db, {
      refreshTokenTtlSec: 3600,
      maxAgeSec: 60,
      maxPerUser: MAX_PER_USER,
      revocationTtlSec: 600,
    });
    const user = await newUser();
    const opened = await shortLived.open(user.id);
    expect((await shortLived.rotate(opened.refreshToken)).outcome).toBe('rotated');
    const [session] = await db('auth.sessions').where('id', opened.sessionId).select('expires_at');
    const tokens = await db('auth.refresh_tokens').where('session_id', opened.sessionId).select('expires_at');
    expect(tokens).toHaveLength(2);
    for (const token of tokens) expect(token.expires_at.getTime()).toBe(session.expires_at.getTime());
  });

  /** Opens a session and rotates it `times` times: the tokens in order, the last one current. */
  const rotatedSession = async (times: number) => {
    const user = await newUser();
    const opened = await sessions.open(user.id);
    const tokens = [opened.refreshToken];
    for (let i = 0; i < times; i++) {
      const rotated = await sessions.rotate(tokens[i]!);
      if (rotated.outcome !== 'rotated') throw new Error(`rotation ${i}: ${rotated.outcome}`);
      tokens.push(rotated.refreshToken);
    }
    return { userId: user.id, sessionId: opened.sessionId, tokens };
  };
  const ROTATIONS = 20;

  it(`keeps the session's ${USED_REFRESH_TOKENS_KEPT} newest used tokens and its current one, however often it rotates`, async () => {
    const { userId, sessionId, tokens } = await rotatedSession(ROTATIONS);
    const rows = await db('auth.refresh_tokens')
      .where('session_id', sessionId)
      .select('token_hash', 'used_at');
    expect(rows).toHaveLength(USED_REFRESH_TOKENS_KEPT + 1);
    expect(rows.filter((row) => row.used_at === null)).toHaveLength(1);
    const kept = tokens.slice(-(USED_REFRESH_TOKENS_KEPT + 1));
    const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
    expect(rows.map((row) => (row.token_hash as Buffer).toString('hex')).sort()).toEqual(
      kept.map(hash).sort(),
    );
    // The newest used token presented again is still reuse, and ends the session.
    expect(await sessions.rotate(tokens[ROTATIONS - 1]!)).toMatchObject({ outcome: 'reused', sessionId });
    expect(await liveIds(userId)).toEqual([]);
    expect(await sessions.listRevoked()).toContain(sessionId);
  });

  it('treats a pruned used token as unknown: invalid, and the session lives on; the oldest kept one is reuse', async () => {
    const { userId, sessionId, tokens } = await rotatedSession(ROTATIONS);
    const oldestKept = ROTATIONS - USED_REFRESH_TOKENS_KEPT;
    expect(await sessions.rotate(tokens[oldestKept - 1]!)).toEqual({ outcome: 'invalid' });
    expect(await sessions.rotate(tokens[0]!)).toEqual({ outcome: 'invalid' });
    // Nor does logging out with one end the session (logout answers true all the same).
    await sessions.revokeByToken(tokens[0]!);
    expect(await liveIds(userId)).toEqual([sessionId]);
    expect(await sessions.listRevoked()).not.toContain(sessionId);
    expect(await sessions.rotate(tokens[oldestKept]!)).toMatchObject({ outcome: 'reused', sessionId });
    expect(await liveIds(userId)).toEqual([]);
  });

  it('rotates nothing for a revoked session, and an unknown token is invalid', async () => {
    const user = await newUser();
    const opened = await sessions.open(user.id);
    await sessions.revokeOwnSession(user.id, opened.sessionId);
    expect(await sessions.rotate(opened.refreshToken)).toEqual({ outcome: 'invalid' });
    expect(await sessions.rotate(randomBytes(32).toString('base64url'))).toEqual({ outcome: 'invalid' });
    expect(await db('auth.refresh_tokens').where('session_id', opened.sessionId)).toHaveLength(1);
  });
});

describe('SessionStore.renew', () => {
  it('keeps the session and issues a fresh token; the earlier ones are unknown, not reused', async () => {
    const user = await newUser();
    const opened = await sessions.open(user.id, { userAgent: 'renew test' });
    const rotated = await sessions.rotate(opened.refreshToken);
    if (rotated.outcome !== 'rotated') throw new Error(`rotation: ${rotated.outcome}`);
    const [before] = await sessions.listLive(user.id);

    const renewed = await db.transaction((trx) => sessions.renew(user.id, opened.sessionId, trx));
    expect(renewed?.sessionId).toBe(opened.sessionId);

    // Neither the used token nor the current one from before counts as reuse: the session lives on.
    expect(await sessions.rotate(opened.refreshToken)).toEqual({ outcome: 'invalid' });
    expect(await sessions.rotate(rotated.refreshToken)).toEqual({ outcome: 'invalid' });
    const [after] = await sessions.listLive(user.id);
    expect(after).toMatchObject({
      id: opened.sessionId,
      createdAt: before!.createdAt,
      userAgent: 'renew test',
    });
    expect(await sessions.listRevoked()).not.toContain(opened.sessionId);
    expect(await sessions.rotate(renewed!.refreshToken)).toMatchObject({
      outcome: 'rotated',
      sessionId: opened.sessionId,
    });
  });

  it("is undefined, writing nothing, for another user's session and for an ended one", async () => {
    const owner = await newUser();
    const stranger = await newUser();
    const opened = await sessions.open(owner.id);
    expect(await db.transaction((trx) => sessions.renew(stranger.id, opened.sessionId, trx))).toBeUndefined();
    expect(await db.transaction((trx) => sessions.renew(owner.id, 'not-a-uuid', trx))).toBeUndefined();
    const ended = await sessions.open(owner.id);
    await sessions.revokeOwnSession(owner.id, ended.sessionId);
    expect(await db.transaction((trx) => sessions.renew(owner.id, ended.sessionId, trx))).toBeUndefined();
    // The owner's live session still refreshes with the token it had.
    expect(await sessions.rotate(opened.refreshToken)).toMatchObject({ outcome: 'rotated' });
  });

  it('a rotation racing the renewal waits for it and then gets nothing', async () => {
    const user = await newUser();
    const opened = await sessions.open(user.id);
    let racing: Promise<unknown> | undefined;
    await db.transaction(async (trx) => {
      await sessions.renew(user.id, opened.sessionId, trx);
      racing = sessions.rotate(opened.refreshToken);
      // The rotation is blocked on the token's row until this transaction commits.
      await new Promise((resolve) => setTimeout(resolve, 100));
    });
    expect(await racing).toEqual({ outcome: 'invalid' });
    expect(await liveIds(user.id)).toEqual([opened.sessionId]);
  });
});
