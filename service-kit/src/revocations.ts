import type { Logger } from './logger';

export interface RevocationListOptions {
  /** Where the ids of revoked sessions come from: the database (subgraphs) or the auth service (gateway). */
  load: () => Promise<Iterable<string>>;
  /** How often the list is reloaded; a revocation reaches this verifier within about this long. */
  pollIntervalMs: number;
  /**
   * How old the last successful load may be before every authenticated request is refused with
   * SERVICE_UNAVAILABLE. The verifier cannot know what was revoked since; answering from an old
   * list would let a revoked token work for as long as the channel is down.
   */
  maxStalenessSec: number;
  logger?: Logger;
  /** For tests: the clock, in ms. */
  now?: () => number;
}

/** Where the auth service serves the revocation list to verifiers without a database (the gateway). */
export const REVOKED_SESSIONS_PATH = '/revoked-sessions';

export type RevocationCheck = 'ok' | 'revoked' | 'unknown';

/**
 * The sessions whose access tokens are refused before they expire, held in memory and reloaded on
 * a timer, so that verifying a token costs a Set lookup, not a database round trip. The list is
 * small by construction: a session stays on it only until its last access token would have
 * expired anyway (auth.session_revocations).
 */
export class RevocationList {
  private revoked = new Set<string>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<boolean> | undefined;
  private failing = false;
  private readonly now: () => number;

  constructor(private readonly options: RevocationListOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads the list once (reported, not thrown) and keeps reloading it until stop(). */
  async start(): Promise<boolean> {
    const loaded = await this.reload();
    this.timer ??= setInterval(() => void this.reload(), this.options.pollIntervalMs);
    // The poll alone must not keep a process alive that is otherwise done.
    this.timer.unref();
    return loaded;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Loads the list now; concurrent callers share one load. */
  reload(): Promise<boolean> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /**
   * `unknown` when the list is older than the staleness bound (never loaded, or its source has been
   * unreachable since): the caller must refuse, because whatever was revoked meanwhile is not known.
   */
  check(sessionId: string): RevocationCheck {
    if (this.now() - this.loadedAt > this.options.maxStalenessSec * 1000) return 'unknown';
    return this.revoked.has(sessionId) ? 'revoked' : 'ok';
  }

  get size(): number {
    return this.revoked.size;
  }

  private async load(): Promise<boolean> {
    const started = this.now();
    try {
      this.revoked = new Set(await this.options.load());
      // The load started before the answer was produced: anything revoked after `started` is in the
      // next load, so the list is as fresh as its start, not as its end.
      this.loadedAt = started;
      if (this.failing) this.options.logger?.info('revocation list reachable again');
      this.failing = false;
      return true;
    } catch (error) {
      // Logged once per outage, not once a second.
      if (!this.failing) {
        this.options.logger?.warn(
          { err: error, maxStalenessSec: this.options.maxStalenessSec },
          'revocation list could not be loaded; authenticated requests are refused once it is older than the bound',
        );
      }
      this.failing = true;
      return false;
    }
  }
}
