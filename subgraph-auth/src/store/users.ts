import { type Knex, runPrepared } from '@imagehub/db';
import { isUuid } from '@imagehub/service-kit';
import type { RowRead } from './statement';

export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: Date;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  created_at: Date;
}

const USER_COLUMNS = ['id', 'email', 'name', 'created_at'] as const;
// One text for any number of ids (an array), so it is prepared once per connection: every
// signed-in read starts with it.
const USERS_BY_IDS = `select ${USER_COLUMNS.join(', ')} from auth.users where id = any(?::uuid[])`;
const EMAIL_UNIQUE_INDEX = 'users_email_lower_key';

export interface Credentials {
  user: User;
  passwordHash: string;
}

export class DuplicateEmailError extends Error {
  override name = 'DuplicateEmailError';
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  name: row.name,
  createdAt: row.created_at,
});

export class UserStore {
  constructor(private readonly db: Knex) {}

  /**
   * The account behind an email and its password hash, as a read for another statement: a login
   * asks for it in the statement that charges the throttle (Throttle.chargeLogin).
   */
  credentialsByEmail(email: string): RowRead<Credentials> {
    return {
      sql: 'select id, email, name, created_at, password_hash from auth.users where lower(email) = ? limit 1',
      bindings: [email.toLowerCase()],
      map: (row) => {
        // Left-joined into the other statement: every column is null when there is no such account.
        const found = row as unknown as UserRow & { password_hash: string };
        return found.id ? { user: toUser(found), passwordHash: found.password_hash } : undefined;
      },
    };
  }

  async updatePasswordHash(id: string, passwordHash: string, trx: Knex.Transaction): Promise<void> {
    await trx('auth.users').update({ password_hash: passwordHash }).where('id', id);
  }

  async emailTaken(email: string): Promise<boolean> {
    const row = await this.db('auth.users')
      .select('id')
      .whereRaw('lower(email) = ?', [email.toLowerCase()])
      .first();
    return row !== undefined;
  }

  /** One query for any number of ids; ids that are not UUIDs cannot exist and are never sent to Postgres. */
  async findByIds(ids: readonly string[]): Promise<User[]> {
    const valid = [...new Set(ids.filter(isUuid))];
    if (valid.length === 0) return [];
    const rows = await runPrepared<UserRow>(this.db, USERS_BY_IDS, [valid]);
    return rows.map(toUser);
  }

  async create(
    input: { email: string; name: string; passwordHash: string },
    trx: Knex.Transaction,
  ): Promise<User> {
    try {
      const [row]: UserRow[] = await trx('auth.users')
        .insert({ email: input.email, name: input.name, password_hash: input.passwordHash })
        .returning(USER_COLUMNS);
      return toUser(row!);
    } catch (error) {
      // Two registrations racing past the pre-check meet here, at the unique index.
      const pg = error as { code?: string; constraint?: string };
      if (pg.code === '23505' && pg.constraint === EMAIL_UNIQUE_INDEX) throw new DuplicateEmailError();
      throw error;
    }
  }

  /** Deletes the user row; false when it was gone already (a concurrent deletion won). */
  async delete(id: string, trx: Knex.Transaction): Promise<boolean> {
    const deleted = await trx('auth.users').where({ id }).delete().returning('id');
    return deleted.length > 0;
  }
}
