import { createHash } from 'node:crypto';
import type { Knex } from '@imagehub/db';
import { tooManyRequests } from '@imagehub/service-kit';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { type RowRead, runWith, type WithParts } from '../store/statement';

export interface ThrottleOptions {
  /** Wrong passwords for one account from one address before the backoff starts. */
  loginFailuresPerEmailAndIp: number;
  /** First lock of an account from one address, in seconds; it doubles with every further failure. */
  loginLockoutBaseSec: number;
  /** The longest lock of an account from one address. */
  loginLockoutMaxSec: number;
  /** Wrong passwords for one account from all addresses together; addresses it logged in from before are exempt. */
  loginFailuresPerEmail: number;
  /** Wrong passwords from one address, whichever the accounts. */
  loginFailuresPerIp: number;
  loginFailureWindowSec: number;
  /** Successful logins per address, and per account, in `loginSuccessWindowSec`. */
  loginsPerIp: number;
  loginsPerAccount: number;
  loginSuccessWindowSec: number;
  registrationsPerIp: number;
  registrationWindowSec: number;
  refreshFailuresPerIp: number;
  refreshFailureWindowSec: number;
  /** Prefix of every counter key; lets separate deployments (or test servers) share one table. */
  namespace: string;
}

export interface LoginCharge {
  holdsLock: boolean;
}

const DAY_SEC = 24 * 3600;
/** How long an address stays "familiar" for an account after a successful login from it. */
const FAMILIAR_ADDRESS_SEC = 30 * DAY_SEC;

/**
 * Login throttling as the big identity providers do it (Microsoft Entra smart lockout, Okta, Auth0),
 * with its counters in Postgres (`auth.rate_limits`) so that every replica sees the same counts:
 *
 * - per account and address: a few free failures, then a lock that doubles with every further
 *   failure (1 min, 2, 4, ... up to an hour); a success clears it. One attacker's guesses cost them
 *   time without locking the account anywhere else.
 * - per account across all addresses: only at a much higher count (a distributed guess), and never
 *   for an address the account has logged in from successfully (a familiar address), so that an
 *   attacker cannot lock the owner out.
 * - per address: failures across accounts (password spraying), and a cap on successful logins per
 *   address and per account, so that a flood of valid logins cannot take every bcrypt slot.
 *
 * Every attempt is charged up front, which makes the counts race-free under parallel guesses, and
 * settled when the outcome is known: a failure refunds the success counters, a success refunds the
 * failure counters.
 */
export class Throttle {
  private readonly pairFailures: RateLimiterPostgres;
  /** One point: at most one attempt beyond the free ones in flight, and the backoff lock itself. */
  private readonly pairLock: RateLimiterPostgres;
  private readonly familiar: RateLimiterPostgres;
  private readonly emailFailures: RateLimiterPostgres;
  private readonly ipFailures: RateLimiterPostgres;
  private readonly ipLogins: RateLimiterPostgres;
  private readonly accountLogins: RateLimiterPostgres;
  private readonly registerByIp: RateLimiterPostgres;
  private readonly refreshByIp: RateLimiterPostgres;

  constructor(
    private readonly db: Knex,
    private readonly options: ThrottleOptions,
  ) {
    const limiter = (name: string, points: number, duration: number, clearExpired = false) =>
      new RateLimiterPostgres({
        storeClient: db,
        storeType: 'knex',
        schemaName: COUNTERS_SCHEMA,
        tableName: COUNTERS_TABLE,
        tableCreated: true,
        // One sweeper for the shared table is plenty.
        clearExpiredByTimeout: clearExpired,
        keyPrefix: `${options.namespace}:${name}`,
        points,
        duration,
      });
    // A failure streak is remembered for a day (a success ends it), so waiting out one lock does not
    // restart the free attempts.
    this.pairFailures = limiter('login-pair', options.loginFailuresPerEmailAndIp, DAY_SEC, true);
    this.pairLock = limiter('login-pair-lock', 1, options.loginLockoutBaseSec);
    this.familiar = limiter('login-familiar', 1, FAMILIAR_ADDRESS_SEC);
    this.emailFailures = limiter('login-email', options.loginFailuresPerEmail, options.loginFailureWindowSec);
    this.ipFailures = limiter('login-ip', options.loginFailuresPerIp, options.loginFailureWindowSec);
    this.ipLogins = limiter('login-ok-ip', options.loginsPerIp, options.loginSuccessWindowSec);
    this.accountLogins = limiter('login-ok-account', options.loginsPerAccount, options.loginSuccessWindowSec);
    this.registerByIp = limiter('register-ip', options.registrationsPerIp, options.registrationWindowSec);
    this.refreshByIp = limiter('refresh-ip', options.refreshFailuresPerIp, options.refreshFailureWindowSec);
  }

  /**
   * Charges one login attempt to every counter; TOO_MANY_REQUESTS (nothing left charged) when any
   * refuses. The answer says whether the attempt holds the pair's one-at-a-time lock (beyond the
   * free failures), which only it may release.
   */
  async chargeLogin(email: string, ip: string): Promise<LoginCharge>;
  /**
   * The same, with `read` answered in the same statement (the account behind the email: one round
   * trip for both). A refused attempt's read is discarded unused.
   */
  async chargeLogin<T>(
    email: string,
    ip: string,
    read: RowRead<T>,
  ): Promise<LoginCharge & { found: T | undefined }>;
  async chargeLogin<T>(
    email: string,
    ip: string,
    read?: RowRead<T>,
  ): Promise<LoginCharge & { found?: T | undefined }> {
    const account = emailKey(email);
    const pair = `${account}:${ip}`;
    const charges = [
      { limiter: this.pairFailures, key: pair },
      { limiter: this.emailFailures, key: account },
      { limiter: this.ipFailures, key: ip },
      { limiter: this.ipLogins, key: ip },
      { limiter: this.accountLogins, key: account },
    ];
    let counted: Counters;
    let found: T | undefined;
    const charged = this.countParts(
      'charged',
      charges.map((c) => ({ ...c, points: 1 })),
    );
    if (read) {
      const [row] = await runWith<{ counters: CounterRow[] } & Record<string, unknown>>(
        this.db,
        [charged],
        `select (select json_agg(json_build_object('key', key, 'points', points, 'expire', expire)) from charged)
                  as counters, found.*
           from (select) as one left join lateral (${read.sql}) as found on true`,
        read.bindings,
      );
      counted = counters(row?.counters ?? []);
      found = row ? read.map(row) : undefined;
    } else {
      counted = counters(
        await runWith<CounterRow>(this.db, [charged], 'select key, points, expire from charged'),
      );
    }
    let retryAfterMs = 0;
    let refused = false;
    let holdsLock = false;
    for (const { limiter, key } of charges) {
      const counter = counted.get(limiter.getKey(key));
      if (!counter) throw new Error(`The throttle's counter ${limiter.keyPrefix} was not written`);
      if (counter.points <= limiter.points) continue;
      let refusal: { msBeforeNext: number } | undefined = counter;
      if (limiter === this.pairFailures) {
        // Beyond the free failures: one attempt at a time, and only once the backoff lock is over.
        const lock = await this.pairLock.consume(pair).catch((res: unknown) => {
          if (res instanceof RateLimiterRes) return res;
          throw res;
        });
        holdsLock = lock.consumedPoints <= 1;
        refusal = holdsLock ? undefined : lock;
      } else if (limiter === this.emailFailures && (await this.familiar.get(pair))) {
        // Familiar addresses keep working while a distributed attack has used up the account's count.
        refusal = undefined;
      }
      if (!refusal) continue;
      refused = true;
      retryAfterMs = Math.max(retryAfterMs, refusal.msBeforeNext);
    }
    if (!refused) return { holdsLock, found };
    // A refused attempt compares no password: it leaves no failure behind (the locks would otherwise
    // grow while a user merely waits and retries) and uses no login.
    await this.count(
      charges.map((c) => ({ ...c, points: -1 })),
      holdsLock ? [this.pairLock.getKey(pair)] : [],
    );
    throw tooManyRequests(retryAfterMs / 1000);
  }

  /** The password was wrong: the attempt stays a failure, stops counting as a login, and may lock the pair. */
  async loginFailed(email: string, ip: string): Promise<void> {
    const account = emailKey(email);
    const pair = `${account}:${ip}`;
    const [streak] = await Promise.all([
      this.pairFailures.get(pair),
      this.ipLogins.reward(ip),
      this.accountLogins.reward(account),
    ]);
    const beyondFree = (streak?.consumedPoints ?? 0) - this.options.loginFailuresPerEmailAndIp;
    if (beyondFree >= 0) {
      const { loginLockoutBaseSec: base, loginLockoutMaxSec: max } = this.options;
      await this.pairLock.block(pair, Math.min(max, base * 2 ** Math.min(beyondFree, 30)));
    }
  }

  /** The user is who they claim: their streak from this address ends, and the address becomes familiar. */
  async loginSucceeded(email: string, ip: string): Promise<void> {
    await this.settle(this.loginSucceededParts(email, ip));
  }

  /** Writes a settlement (`loginSucceededParts`) alone. */
  async settle(settlement: WithParts): Promise<void> {
    await runWith(this.db, [settlement], 'select 1');
  }

  /**
   * `loginSucceeded` as parts of another statement (see WithParts), named `settled*`: a login
   * writes it with its session, in one round trip, and both or neither are written.
   */
  loginSucceededParts(email: string, ip: string): WithParts {
    const account = emailKey(email);
    const pair = `${account}:${ip}`;
    return this.countParts(
      'settled',
      [
        { limiter: this.emailFailures, key: account, points: -1 },
        { limiter: this.ipFailures, key: ip, points: -1 },
        { limiter: this.familiar, key: pair, points: 1, overwrite: true },
      ],
      [this.pairFailures.getKey(pair), this.pairLock.getKey(pair)],
    );
  }

  /**
   * Deletes every counter keyed by `email` (its failure streaks and locks from any address, the
   * addresses it was familiar from, its login counts), in `trx`: an account deleted for good leaves
   * no record here tying its email (hashed, but a guessable address hashes the same) to where it
   * signed in from, and an account registered later with that email starts with none. The counters
   * of addresses alone stay: they are about the address, not the account. A pattern match, so a
   * scan of the table; it is small (counters expire) and this runs once per deleted account.
   */
  async forgetAccount(email: string, trx: Knex.Transaction): Promise<void> {
    const account = emailKey(email);
    const likeLiteral = (text: string) => text.replace(/[\\%_]/g, '\\$&');
    const patterns = [
      ...[this.pairFailures, this.pairLock, this.familiar].map((l) => `${likeLiteral(l.getKey(account))}:%`),
      ...[this.emailFailures, this.accountLogins].map((l) => likeLiteral(l.getKey(account))),
    ];
    await trx(`${COUNTERS_SCHEMA}.${COUNTERS_TABLE}`)
      .whereRaw('key like any(?::text[])', [patterns])
      .delete();
  }

  /** For an attempt that never got to compare a password (the server was too busy). */
  async refundLogin(email: string, ip: string, charge: LoginCharge): Promise<void> {
    const account = emailKey(email);
    const pair = `${account}:${ip}`;
    await this.count(
      [
        { limiter: this.pairFailures, key: pair, points: -1 },
        { limiter: this.emailFailures, key: account, points: -1 },
        { limiter: this.ipFailures, key: ip, points: -1 },
        { limiter: this.ipLogins, key: ip, points: -1 },
        { limiter: this.accountLogins, key: account, points: -1 },
      ],
      charge.holdsLock ? [this.pairLock.getKey(pair)] : [],
    );
  }

  /** Every registration counts, including refused ones: they would otherwise probe which emails exist. */
  async chargeRegistration(ip: string): Promise<void> {
    await charge([this.registerByIp.consume(ip)]);
  }

  /**
   * Counts a refresh token that named no live session; TOO_MANY_REQUESTS past the limit. Only
   * failures are counted, after the lookup: a valid token is never refused for what others sent from
   * the same address (a NAT, a proxy), and guessing a 256-bit token is hopeless anyway. The count
   * tells a client stuck in a loop, or a scanner, to back off.
   */
  async refreshFailed(ip: string): Promise<void> {
    await charge([this.refreshByIp.consume(ip)]);
  }

  /**
   * Adds points to several counters and deletes others, in one statement: a login's up-front charge
   * and its settlement were ten statements, each a pool checkout and a round trip, and now are two
   * (each of which also carries the login's other work, see `chargeLogin` and `loginSucceededParts`).
   * It is rate-limiter-flexible's own Postgres upsert (RateLimiterPostgres._upsert) for many rows:
   * points are added to a live counter; an expired or missing one starts a new window with them;
   * `overwrite` (the library's `set`) replaces points and expiry. Same table, keys and `expire`
   * (epoch milliseconds), so the limiters' own calls (get, block, consume) read what this writes.
   * The keys of one call are distinct (each limiter has its own prefix), as one upsert requires,
   * and the cleared keys are none of the counted ones (a statement cannot both delete and upsert a row).
   */
  private countParts(name: string, unordered: CounterChange[], clear: string[] = []): WithParts {
    const now = Date.now();
    // In key order, so concurrent upserts of the same counters lock them in the same order.
    const rows = [...unordered].sort((a, b) => {
      const [x, y] = [a.limiter.getKey(a.key), b.limiter.getKey(b.key)];
      return x < y ? -1 : x > y ? 1 : 0;
    });
    const keys = rows.map((r) => r.limiter.getKey(r.key));
    const overwrite = rows.filter((r) => r.overwrite).map((r) => r.limiter.getKey(r.key));
    return {
      sql: `${name}_cleared as (delete from ${COUNTERS_SCHEMA}.${COUNTERS_TABLE} where key = any(?::varchar[])),
       ${name} as (
       insert into ${COUNTERS_SCHEMA}.${COUNTERS_TABLE} as t (key, points, expire)
       select * from unnest(?::varchar[], ?::integer[], ?::bigint[])
       on conflict (key) do update set
         points = case when t.expire <= ? or excluded.key = any(?::varchar[]) then excluded.points
                       else t.points + excluded.points end,
         expire = case when t.expire <= ? or excluded.key = any(?::varchar[]) then excluded.expire
                       else t.expire end
       returning key, points, expire)`,
      bindings: [
        clear,
        keys,
        rows.map((r) => r.points),
        rows.map((r) => now + r.limiter.duration * 1000),
        now,
        overwrite,
        now,
        overwrite,
      ],
    };
  }

  /** `countParts` alone; the counters as they are after it. */
  private async count(rows: CounterChange[], clear: string[] = []): Promise<Counters> {
    const counted = await runWith<CounterRow>(
      this.db,
      [this.countParts('counted', rows, clear)],
      'select key, points, expire from counted',
    );
    return counters(counted);
  }
}

interface CounterChange {
  limiter: RateLimiterPostgres;
  key: string;
  points: number;
  overwrite?: boolean;
}

interface CounterRow {
  key: string;
  points: number;
  /** Epoch milliseconds: a string from the bigint column, a number through JSON. */
  expire: string | number | null;
}

type Counters = Map<string, { points: number; msBeforeNext: number }>;

function counters(rows: readonly CounterRow[]): Counters {
  const now = Date.now();
  return new Map(
    rows.map((row) => [
      row.key,
      { points: row.points, msBeforeNext: row.expire ? Math.max(Number(row.expire) - now, 0) : -1 },
    ]),
  );
}

/** The table every limiter keeps its counters in (RateLimiterPostgres's layout). */
const COUNTERS_SCHEMA = 'auth';
const COUNTERS_TABLE = 'rate_limits';

/** Emails are hashed: the key stays short (varchar 255) and the table holds no addresses. */
const emailKey = (email: string) => createHash('sha256').update(email).digest('base64url');

async function charge(attempts: Promise<RateLimiterRes>[]): Promise<void> {
  const results = await Promise.allSettled(attempts);
  let throttled = false;
  let retryAfterMs = 0;
  for (const result of results) {
    if (result.status === 'fulfilled') continue;
    // rate-limiter-flexible rejects with a RateLimiterRes when over the limit, and with an Error when the store fails.
    if (!(result.reason instanceof RateLimiterRes)) throw result.reason;
    throttled = true;
    retryAfterMs = Math.max(retryAfterMs, result.reason.msBeforeNext);
  }
  if (throttled) throw tooManyRequests(retryAfterMs / 1000);
}
