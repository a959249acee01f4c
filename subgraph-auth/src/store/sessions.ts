import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from '@imagehub/db';
import { isUuid, printableText } from '@imagehub/service-kit';
import { runWith, type WithParts } from './statement';

/** 256 random bits, base64url: 43 characters. */
export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** `Session.userAgent` holds at most this many characters (api-contract.graphql). */
export const USER_AGENT_MAX_CHARS = 200;

/**
 * Used refresh tokens a session keeps, newest first, for reuse detection: presenting one of them
 * again ends the session as reuse. Each rotation deletes the session's used tokens beyond these, so
 * a session holds at most this many used tokens plus its current one however often it is refreshed
 * (a valid refresh is never throttled, so without the bound a client rotating in a loop could grow
 * the table without end). Five covers a stolen token replayed within the victim's next few
 * refreshes, which is when reuse detection matters; an older, pruned token is simply unknown
 * (REFRESH_TOKEN_INVALID) and ends nothing, since nothing is left to tell which session it was.
 */
export const USED_REFRESH_TOKENS_KEPT = 5;

export type RotationResult =
  | { outcome: 'rotated'; userId: string; sessionId: string; refreshToken: string }
  /** The token had already been used: it was stolen or replayed, so its whole session is now revoked. */
  | { outcome: 'reused'; userId: string; sessionId: string }
  | { outcome: 'invalid' };

export interface Session {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  userAgent: string | null;
}

export interface OpenedSession {
  sessionId: string;
  refreshToken: string;
}

export interface SessionOptions {
  /** A refresh token unused for this long expires (each rotation issues a new one). */
  refreshTokenTtlSec: number;
  /** Absolute: a session ends this long after sign-in however often it is refreshed. */
  maxAgeSec: number;
  /** Live sessions per user; signing in beyond it revokes the least recently used ones. */
  maxPerUser: number;
  /**
   * How long a revocation is listed: until the last access token the session may hold has expired
   * anyway (the longest lifetime any verifier accepts, plus their clock tolerance).
   */
  revocationTtlSec: number;
}

interface SessionRow {
  id: string;
  created_at: Date;
  last_used_at: Date;
  user_agent: string | null;
}

const SESSION_COLUMNS = ['id', 'created_at', 'last_used_at', 'user_agent'] as const;

const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

const toSession = (row: SessionRow): Session => ({
  id: row.id,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  userAgent: row.user_agent,
});

/** What is kept of a client's User-Agent: printable, at most 200 characters, null when nothing is left. */
export function storedUserAgent(raw: string | undefined): string | null {
  if (!raw) return null;
  // Cut before cleaning, so a megabyte-long header costs no more than a short one. 4 bytes a
  // character at most in UTF-8, so the cut keeps 200 characters whatever the encoding.
  const limit = USER_AGENT_MAX_CHARS * 4;
  const text = headerText(raw.slice(0, limit), raw.length > limit);
  const kept = [...printableText(text)].slice(0, USER_AGENT_MAX_CHARS);
  return kept.length > 0 ? kept.join('') : null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A header value as the client meant it. Node hands header bytes over one character per byte
 * (latin1), while browsers and apps send non-ASCII User-Agents as UTF-8 (`café` arrives as `cafÃ©`).
 * When the bytes are valid UTF-8 they are decoded as such; otherwise (real latin1, or garbage) they
 * stay as they came. `cut`: the value was shortened, so its last character may be split; up to
 * three trailing bytes of it are dropped rather than giving up on the whole value.
 */
function headerText(value: string, cut: boolean): string {
  const bytes = Buffer.from(value, 'latin1');
  // Only bytes above 0x7f need decoding, and a character above 0xff means it was never bytes.
  if (bytes.every((byte) => byte < 0x80) || bytes.toString('latin1') !== value) return value;
  for (let dropped = 0; dropped <= (cut ? 3 : 0) && dropped < bytes.length; dropped++) {
    try {
      return strictUtf8.decode(bytes.subarray(0, bytes.length - dropped));
    } catch {
      // Not UTF-8 (yet): with a cut, try without the last byte of a split character.
    }
  }
  return value;
}

/**
 * Sessions and their refresh tokens. A token is stored only as its SHA-256 (the token itself is
 * 256 random bits, so a fast hash is enough: there is nothing to brute-force), is single-use,
 * and is replaced by a new one in the same session on every refresh.
 *
 * Ending a session (`revoke*`) also lists it in auth.session_revocations, in the same statement,
 * so that its access tokens are refused everywhere (RevocationList) and not only its refresh token.
 */
export class SessionStore {
  constructor(
    private readonly db: Knex,
    private readonly options: SessionOptions,
  ) {}

  /**
   * Opens a session for the user and returns its first refresh token, in ONE statement: the
   * session, the revocation of this user's least recently used live sessions beyond the bound,
   * the refresh token's hash, and `alongside` (e.g. the login's throttle settlement), all written
   * or none. Inside a transaction (`db`), it sees what the transaction wrote before.
   *
   * The bound: the parts of one statement share a snapshot, so the new session is not among the
   * rows the revoking part sees; it keeps the `maxPerUser - 1` most recently used sessions
   * committed before this statement and revokes the rest, which with the new one makes the bound.
   * Concurrent sign-ins of one user do not see each other's new sessions (as with the separate
   * statements of a transaction before, under read committed): k of them at once can leave the
   * user up to `maxPerUser + k - 1` live sessions until the next sign-in, which brings it back to
   * the bound. A session that one of them revokes while another uses it is simply revoked.
   */
  async open(
    userId: string,
    options: { db?: Knex | Knex.Transaction; userAgent?: string; alongside?: WithParts } = {},
  ): Promise<OpenedSession> {
    const { maxAgeSec, maxPerUser } = this.options;
    const issued = this.issueToken('opened');
    const parts: WithParts[] = [
      ...(options.alongside ? [options.alongside] : []),
      {
        sql: `opened as (
         insert into auth.sessions (user_id, user_agent, expires_at)
         values (?, ?, now() + make_interval(secs => ?))
         returning id as session_id, expires_at as session_expires_at)`,
        bindings: [userId, storedUserAgent(options.userAgent), maxAgeSec],
      },
      this.revokeParts(
        `id in (select id from auth.sessions
                 where user_id = ? and revoked_at is null and expires_at > now()
                 order by last_used_at desc, created_at desc
                 offset ?)`,
        [userId, maxPerUser - 1],
      ),
      issued.part,
    ];
    const [opened] = await runWith<{ session_id: string }>(
      options.db ?? this.db,
      parts,
      'select session_id from opened',
    );
    return { sessionId: opened!.session_id, refreshToken: issued.token };
  }

  /**
   * Marks the token used and issues its successor, in ONE statement (one round trip, no BEGIN and
   * COMMIT): the token marked used, its session touched, its used tokens beyond
   * USED_REFRESH_TOKENS_KEPT deleted, the successor's hash stored, all or none.
   * The conditional UPDATE is the arbiter between concurrent uses: only one of them sees
   * `used_at is null`; the other waits for the row lock, then finds the token used, which is
   * treated as reuse below. A token pruned as too old is found neither way: it is invalid.
   */
  async rotate(token: string): Promise<RotationResult> {
    if (!REFRESH_TOKEN_PATTERN.test(token)) return { outcome: 'invalid' };
    const tokenHash = hashToken(token);
    const successor = this.issueToken('used');
    const [rotated] = await runWith<{ session_id: string; user_id: string }>(
      this.db,
      [
        {
          sql: `used as (
           update auth.refresh_tokens t
              set used_at = now()
             from auth.sessions s
            where t.token_hash = ?
              and t.used_at is null
              and t.expires_at > now()
              and s.id = t.session_id
              and s.revoked_at is null
              and s.expires_at > now()
           returning t.session_id, s.user_id, s.expires_at as session_expires_at)`,
          bindings: [tokenHash],
        },
        {
          sql: `touched as (
           update auth.sessions s set last_used_at = now() from used where s.id = used.session_id)`,
          bindings: [],
        },
        {
          // Sees the snapshot from before the statement, where the token `used` marks is not yet
          // used: keeping the newest KEPT - 1 used ones makes KEPT with it. Disjoint from the row
          // `used` updates (used_at is not null here), and a few rows through the session_id index.
          sql: `forgotten as (
           delete from auth.refresh_tokens
            where token_hash in (
              select t.token_hash from auth.refresh_tokens t join used on used.session_id = t.session_id
               where t.used_at is not null
               order by t.used_at desc, t.created_at desc, t.token_hash
              offset ?))`,
          bindings: [USED_REFRESH_TOKENS_KEPT - 1],
        },
        successor.part,
      ],
      'select session_id, user_id from used',
    );
    if (rotated) {
      return {
        outcome: 'rotated',
        userId: rotated.user_id,
        sessionId: rotated.session_id,
        refreshToken: successor.token,
      };
    }

    const known = await this.db('auth.refresh_tokens as t')
      .join('auth.sessions as s', 's.id', 't.session_id')
      .select('t.session_id', 't.used_at', 's.user_id')
      .where('t.token_hash', tokenHash)
      .first<{ session_id: string; used_at: Date | null; user_id: string } | undefined>();
    if (known?.used_at) {
      await this.revokeWhere(this.db, 'id = ?', [known.session_id]);
      return { outcome: 'reused', userId: known.user_id, sessionId: known.session_id };
    }
    return { outcome: 'invalid' };
  }

  /**
   * A fresh refresh token for one of the user's live sessions, which stays what it is (same id,
   * created, User-Agent; last used now), and the end of every refresh token it held before: for a
   * password change, which keeps the caller signed in but must not let a copy of the caller's
   * tokens from before it go on refreshing. Undefined, and nothing written, when the session is not
   * the user's or no longer live. Call it inside the change's transaction (`db`).
   *
   * The earlier tokens are deleted, not marked used, so presenting one afterwards is an unknown
   * token (REFRESH_TOKEN_INVALID), not reuse: reuse revokes the session, and then a tab or a client
   * still holding the pre-change token (or whoever copied it) could end the session the caller has
   * just secured, by accident or on purpose. Deleted, such a token opens nothing and ends nothing;
   * the password change itself already proved who holds the session.
   *
   * Two statements, in this order because of `rotate`: first the session's tokens are locked, which
   * waits for a rotation in flight (it holds its token's row) to commit; then, in a new snapshot that
   * sees the successor such a rotation issued, every token of the session is deleted and the new one
   * stored. A rotation that starts after the lock waits for this transaction and then finds its token
   * gone. Left open: a successor issued by a rotation that commits in the moment between the two
   * statements and is used again before the second starts, which takes a client round trip inside
   * one statement's gap.
   */
  async renew(
    userId: string,
    sessionId: string,
    db: Knex | Knex.Transaction,
  ): Promise<OpenedSession | undefined> {
    if (!isUuid(sessionId)) return undefined;
    // The current token first: a rotation locks it before the used ones it prunes, so locking in
    // the same order makes the two wait for each other instead of deadlocking.
    await db('auth.refresh_tokens')
      .select('token_hash')
      .where('session_id', sessionId)
      .orderByRaw('used_at desc nulls first')
      .forUpdate();
    const issued = this.issueToken('renewed');
    const [renewed] = await runWith<{ session_id: string }>(
      db,
      [
        {
          sql: `renewed as (
           update auth.sessions set last_used_at = now()
            where id = ? and user_id = ? and revoked_at is null and expires_at > now()
           returning id as session_id, expires_at as session_expires_at)`,
          bindings: [sessionId, userId],
        },
        {
          // Sees the snapshot from before the statement, so not the token `issued` adds.
          sql: `retired as (
           delete from auth.refresh_tokens where session_id in (select session_id from renewed))`,
          bindings: [],
        },
        issued.part,
      ],
      'select session_id from renewed',
    );
    return renewed ? { sessionId: renewed.session_id, refreshToken: issued.token } : undefined;
  }

  /**
   * Revokes the session the token belongs to, whether the token is current, used or expired; a used
   * token pruned by `rotate` (beyond USED_REFRESH_TOKENS_KEPT) is unknown and revokes nothing.
   */
  async revokeByToken(token: string): Promise<void> {
    if (!REFRESH_TOKEN_PATTERN.test(token)) return;
    await this.revokeWhere(
      this.db,
      'id in (select session_id from auth.refresh_tokens where token_hash = ?)',
      [hashToken(token)],
    );
  }

  /**
   * Revokes one of the user's sessions. False when no session with that id is the user's (someone
   * else's looks exactly like a missing one); true for the user's own, even when already ended.
   */
  async revokeOwnSession(userId: string, sessionId: string): Promise<boolean> {
    if (!isUuid(sessionId)) return false;
    return this.db.transaction(async (trx) => {
      const own = await trx('auth.sessions').select('id').where({ id: sessionId, user_id: userId }).first();
      if (!own) return false;
      await this.revokeWhere(trx, 'id = ?', [sessionId]);
      return true;
    });
  }

  /**
   * Revokes every session of the user (but `exceptSessionId`, when given) and lists them as
   * revoked, so their access tokens stop working everywhere. For logout everywhere, password
   * changes and account deletion (call it in the deleting transaction, before the user row goes:
   * the revocations outlive the sessions they name). Returns how many sessions it ended.
   */
  async revokeAllSessions(
    userId: string,
    trx?: Knex | Knex.Transaction,
    options: { exceptSessionId?: string } = {},
  ): Promise<number> {
    const except = options.exceptSessionId;
    return except
      ? this.revokeWhere(trx ?? this.db, 'user_id = ? and id <> ?', [userId, except])
      : this.revokeWhere(trx ?? this.db, 'user_id = ?', [userId]);
  }

  /** The user's live sessions (not revoked, not expired), most recently used first. */
  async listLive(userId: string): Promise<Session[]> {
    const rows: SessionRow[] = await this.db('auth.sessions')
      .select(SESSION_COLUMNS)
      .where('user_id', userId)
      .whereNull('revoked_at')
      .where('expires_at', '>', this.db.fn.now())
      .orderBy([
        { column: 'last_used_at', order: 'desc' },
        { column: 'created_at', order: 'desc' },
      ]);
    return rows.map(toSession);
  }

  /**
   * The ids of revoked sessions whose access tokens may still be alive: what every verifier
   * refuses. Small by construction (see SessionOptions.revocationTtlSec).
   */
  async listRevoked(): Promise<string[]> {
    return this.db('auth.session_revocations').where('expires_at', '>', this.db.fn.now()).pluck('session_id');
  }

  /**
   * Ends the live sessions matching `where` (SQL over auth.sessions) and lists them in
   * auth.session_revocations, in one statement: a session is never ended without being listed.
   * Revocations no longer needed are pruned on the way, which keeps the list small without a job.
   */
  private async revokeWhere(
    db: Knex | Knex.Transaction,
    where: string,
    bindings: readonly Knex.Value[],
  ): Promise<number> {
    const [row] = await runWith<{ ended: string }>(
      db,
      [this.revokeParts(where, bindings)],
      'select count(*) as ended from ended',
    );
    return Number(row?.ended ?? 0);
  }

  /**
   * A new refresh token, and the part (named `issued`) that stores its hash for the session the
   * part `from` returns (as `session_id` and `session_expires_at`). A token never outlives its
   * session: neither a sign-in nor a rotation extends a session past its expiry.
   */
  private issueToken(from: string): { token: string; part: WithParts } {
    const token = randomBytes(32).toString('base64url');
    return {
      token,
      part: {
        sql: `issued as (
         insert into auth.refresh_tokens (token_hash, session_id, expires_at)
         select ?, session_id, least(now() + make_interval(secs => ?), session_expires_at) from ${from})`,
        bindings: [hashToken(token), this.options.refreshTokenTtlSec],
      },
    };
  }

  /** `revokeWhere` as parts of a statement (named `ended`, `listed`, `pruned`; see WithParts). */
  private revokeParts(where: string, bindings: readonly Knex.Value[]): WithParts {
    return {
      sql: `ended as (
         update auth.sessions set revoked_at = now()
          where revoked_at is null and (${where})
         returning id
       ), listed as (
         insert into auth.session_revocations (session_id, expires_at)
         select id, now() + make_interval(secs => ?) from ended
         on conflict (session_id) do nothing
       ), pruned as (
         delete from auth.session_revocations where expires_at <= now()
       )`,
      bindings: [...bindings, this.options.revocationTtlSec],
    };
  }
}
