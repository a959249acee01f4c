import { createHash } from 'node:crypto';
import type { Knex } from '@imagehub/db';
import { tooManyRequests } from '@imagehub/service-kit';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

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
    db: Knex,
    private readonly options: ThrottleOptions,
  ) {
    const limiter = (name: string, points: number, duration: number, clearExpired = false) =>
      new RateLimiterPostgres({
        storeClient: db,
        storeType: 'knex',
        schemaName: 'auth',
        tableName: 'rate_limits',
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
  async chargeLogin(email: string, ip: string): Promise<LoginCharge> {
    const account = emailKey(email);
    const pair = `${account}:${ip}`;
    const charges = [
      { limiter: this.pairFailures, key: pair },
      { limiter: this.emailFailures, key: account },
      { limiter: this.ipFailures, key: ip },
      { limiter: this.ipLogins, key: ip },
      { limiter: this.accountLogins, key: account },
    ];
    const results = await Promise.allSettled(charges.map((c) => c.limiter.consume(c.key)));
    let retryAfterMs = 0;
    let refused = false;
    let holdsLock = false;
    for (const [index, result] of results.entries()) {
      if (result.status === 'fulfilled') continue;
      // rate-limiter-flexible rejects with a RateLimiterRes when over the limit, and with an Error when the store fails.
      if (!(result.reason instanceof RateLimiterRes)) throw result.reason;
      let refusal: RateLimiterRes | undefined = result.reason;
      const { limiter } = charges[index]!;
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
    if (!refused) return { holdsLock };
    // A refused attempt compares no password: it leaves no failure behind (the locks would otherwise
    // grow while a user merely waits and retries) and uses no login.
    await Promise.all([
      ...charges.map((c) => c.limiter.reward(c.key)),
      ...(holdsLock ? [this.pairLock.delete(pair)] : []),
    ]);
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
    const account = emailKey(email);
    const pair = `${account}:${ip}`;
    await Promise.all([
      this.pairFailures.delete(pair),
      this.pairLock.delete(pair),
      this.emailFailures.reward(account),
      this.ipFailures.reward(ip),
      this.familiar.set(pair, 1, FAMILIAR_ADDRESS_SEC),
    ]);
  }

  /** For an attempt that never got to compare a password (the server was too busy). */
  async refundLogin(email: string, ip: string, charge: LoginCharge): Promise<void> {
    const account = emailKey(email);
    const pair = `${account}:${ip}`;
    await Promise.all([
      this.pairFailures.reward(pair),
      ...(charge.holdsLock ? [this.pairLock.delete(pair)] : []),
      this.emailFailures.reward(account),
      this.ipFailures.reward(ip),
      this.ipLogins.reward(ip),
      this.accountLogins.reward(account),
    ]);
  }

  /** Every registration counts, including refused ones: they would otherwise probe which emails exist. */
  async chargeRegistration(ip: string): Promise<void> {
    await charge([this.registerByIp.consume(ip)]);
  }

  async chargeRefresh(ip: string): Promise<void> {
    await charge([this.refreshByIp.consume(ip)]);
  }

  async refreshSucceeded(ip: string): Promise<void> {
    await this.refreshByIp.reward(ip);
  }
}

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
