import type { Knex } from '@imagehub/db';
import { tooManyRequests } from '@imagehub/service-kit';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

export interface AdmissionOptions {
  /** One user's uploads in progress at once. */
  inFlightPerUser: number;
  /** Everyone's uploads in progress at once (each holds its file in memory). */
  inFlight: number;
  /** Upload attempts per user per minute. */
  perMinute: number;
}

/**
 * Who may start an upload now. Uploads in progress are counted in this process (they hold its
 * memory and its decoder slots); attempts per minute are counted in Postgres (`image.rate_limits`),
 * so replicas share them. Every attempt is charged, refused ones too: a decode bomb that is refused
 * costs work, so sending them in a loop must hit the limit like anything else.
 */
export class UploadAdmission {
  private readonly perUser = new Map<string, number>();
  private total = 0;
  private readonly rate: RateLimiterPostgres;

  constructor(
    db: Knex,
    private readonly options: AdmissionOptions,
  ) {
    this.rate = new RateLimiterPostgres({
      storeClient: db,
      storeType: 'knex',
      schemaName: 'image',
      tableName: 'rate_limits',
      tableCreated: true,
      clearExpiredByTimeout: true,
      keyPrefix: 'upload',
      points: options.perMinute,
      duration: 60,
    });
  }

  /** Admits one upload of `userId` or throws TOO_MANY_REQUESTS; call the returned function when it is over. */
  async enter(userId: string): Promise<() => void> {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.options.inFlightPerUser) {
      throw tooManyRequests(
        1,
        `You already have ${mine} uploads in progress; send the next one when one has finished`,
      );
    }
    if (this.total >= this.options.inFlight) {
      throw tooManyRequests(1, 'The server is busy with other uploads, try again shortly');
    }
    // Taken before the first await, so parallel requests cannot all pass the checks above.
    this.perUser.set(userId, mine + 1);
    this.total++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perUser.get(userId) ?? 1) - 1;
      if (left > 0) this.perUser.set(userId, left);
      else this.perUser.delete(userId);
    };
    try {
      await this.rate.consume(userId);
    } catch (error) {
      release();
      // rate-limiter-flexible rejects with a RateLimiterRes when over the limit, with an Error when the store fails.
      if (error instanceof RateLimiterRes) {
        throw tooManyRequests(error.msBeforeNext / 1000, 'Too many uploads, try again later');
      }
      throw error;
    }
    return release;
  }
}
