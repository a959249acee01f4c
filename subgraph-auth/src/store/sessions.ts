import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from '@imagehub/db';

/** 256 random bits, base64url: 43 characters. */
export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export type RotationResult =
  | { outcome: 'rotated'; userId: string; refreshToken: string }
  /** The token had already been used: it was stolen or replayed, so its whole session is now revoked. */
  | { outcome: 'reused'; userId: string; sessionId: string }
  | { outcome: 'invalid' };

const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * Sessions and their refresh tokens. A token is stored only as its SHA-256 (the token itself is
 * 256 random bits, so a fast hash is enough: there is nothing to brute-force), is single-use,
 * and is replaced by a new one in the same session on every refresh.
 */
export class SessionStore {
  constructor(
    private readonly db: Knex,
    private readonly refreshTokenTtlSec: number,
  ) {}

  /**
   * Opens a session for the user and returns its first refresh token: one statement (a data-modifying
   * CTE is atomic on its own), so a login needs no transaction around it. Registration passes its
   * transaction, which also creates the user.
   */
  async open(userId: string, db: Knex | Knex.Transaction = this.db): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await db.raw(
      `with session as (insert into auth.sessions (user_id) values (?) returning id)
       insert into auth.refresh_tokens (token_hash, session_id, expires_at)
       select ?, id, now() + make_interval(secs => ?) from session`,
      [userId, hashToken(token), this.refreshTokenTtlSec],
    );
    return token;
  }

  /**
   * Marks the token used and issues its successor, atomically. The conditional UPDATE is the
   * arbiter between concurrent uses: only one of them sees `used_at is null`; the other finds a
   * used token, which is treated as reuse.
   */
  async rotate(token: string): Promise<RotationResult> {
    if (!REFRESH_TOKEN_PATTERN.test(token)) return { outcome: 'invalid' };
    const tokenHash = hashToken(token);
    const rotated = await this.db.transaction(async (trx) => {
      const result = await trx.raw<{ rows: { session_id: string; user_id: string }[] }>(
        `update auth.refresh_tokens t
            set used_at = now()
           from auth.sessions s
          where t.token_hash = ?
            and t.used_at is null
            and t.expires_at > now()
            and s.id = t.session_id
            and s.revoked_at is null
        returning t.session_id, s.user_id`,
        [tokenHash],
      );
      const row = result.rows[0];
      if (!row) return undefined;
      return { userId: row.user_id, refreshToken: await this.addToken(row.session_id, trx) };
    });
    if (rotated) return { outcome: 'rotated', ...rotated };

    const known = await this.db('auth.refresh_tokens as t')
      .join('auth.sessions as s', 's.id', 't.session_id')
      .select('t.session_id', 't.used_at', 's.user_id')
      .where('t.token_hash', tokenHash)
      .first<{ session_id: string; used_at: Date | null; user_id: string } | undefined>();
    if (known?.used_at) {
      await this.revokeSession(known.session_id);
      return { outcome: 'reused', userId: known.user_id, sessionId: known.session_id };
    }
    return { outcome: 'invalid' };
  }

  /** Revokes the session the token belongs to, whether the token is current, used or expired. */
  async revokeByToken(token: string): Promise<void> {
    if (!REFRESH_TOKEN_PATTERN.test(token)) return;
    await this.db('auth.sessions')
      .update({ revoked_at: this.db.fn.now() })
      .whereNull('revoked_at')
      .whereIn(
        'id',
        this.db('auth.refresh_tokens').select('session_id').where('token_hash', hashToken(token)),
      );
  }

  private async revokeSession(sessionId: string): Promise<void> {
    await this.db('auth.sessions')
      .update({ revoked_at: this.db.fn.now() })
      .where('id', sessionId)
      .whereNull('revoked_at');
  }

  private async addToken(sessionId: string, trx: Knex.Transaction): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await trx('auth.refresh_tokens').insert({
      token_hash: hashToken(token),
      session_id: sessionId,
      expires_at: trx.raw(`now() + make_interval(secs => ?)`, [this.refreshTokenTtlSec]),
    });
    return token;
  }
}
