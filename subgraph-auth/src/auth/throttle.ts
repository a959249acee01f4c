import { createHash } from 'node:crypto';
import type { Knex } from '@imagehub/db';
import { tooManyRequests } from '@imagehub/service-kit';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

export interface ThrottleOptions {
  loginFailuresPerEmail: number;
  loginFailuresPerIp: number;
  loginFailureWindowSec: number;
  registrationsPerIp: number;
  registrationWindowSec: number;
  refreshFailuresPerIp: number;
  refreshFailureWindowSec: number;
  /** Prefix of every counter key; lets separate deployments (or test servers) share one table. */
  namespace: string;
}

/**
 * Brute-force throttling with its counters in Postgres (`auth.rate_limits`, made by a migration),
 * so every replica sees the same counts. Each attempt is charged up front, which makes the count
 * race-free under parallel guesses, and refunded when it succeeds, so only failures add up.
 */
export class Throttle {
  private readonly loginByEmail: RateLimiterPostgres;
  private readonly loginByIp: RateLimiterPostgres;
  private readonly registerByIp: RateLimiterPostgres;
  private readonly refreshByIp: RateLimiterPostgres;

  constructor(db: Knex, options: ThrottleOptions) {
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
    this.loginByEmail = limiter(
      'login-email',
      options.loginFailuresPerEmail,
      options.loginFailureWindowSec,
      true,
    );
    this.loginByIp = limiter('login-ip', options.loginFailuresPerIp, options.loginFailureWindowSec);
    this.registerByIp = limiter('register-ip', options.registrationsPerIp, options.registrationWindowSec);
    this.refreshByIp = limiter('refresh-ip', options.refreshFailuresPerIp, options.refreshFailureWindowSec);
  }

  async chargeLogin(email: string, ip: string): Promise<void> {
    await charge([this.loginByEmail.consume(emailKey(email)), this.loginByIp.consume(ip)]);
  }

  /** A successful login clears the account's count (the user is who they claim) and refunds the IP. */
  async loginSucceeded(email: string, ip: string): Promise<void> {
    await Promise.all([this.loginByEmail.delete(emailKey(email)), this.loginByIp.reward(ip)]);
  }

  /** Every registration counts, including refused ones: they would otherwise probe which emails exist. */
  /** For an attempt that never got to compare a password (the server was too busy). */
  async refundLogin(email: string, ip: string): Promise<void> {
    await Promise.all([this.loginByEmail.reward(emailKey(email)), this.loginByIp.reward(ip)]);
  }

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
