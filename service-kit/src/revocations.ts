import { createHash } from 'node:crypto';
import type { Logger } from './logger';

/**
 * A load's answer when it is current as of later than the load's start: a long poll of the auth
 * service, which held the request until the list changed or its wait ran out and read the list
 * `currentAfterMs` after it received the request (so at least that long after the load started).
 */
export interface RevocationAnswer {
  sessionIds: Iterable<string>;
  currentAfterMs: number;
}

export interface RevocationListOptions {
  /**
   * Where the ids of revoked sessions come from: the database (subgraphs) or the auth service
   * (gateway). `signal` aborts when the list is stopped.
   */
  load: (signal: AbortSignal) => Promise<Iterable<string> | RevocationAnswer>;
  /**
   * Each load starts when the previous one ended (no sooner than `pollIntervalMs` after it started)
   * instead of every `pollIntervalMs`: for a load that is a long poll, which takes as long as its
   * source holds it and answers at once when the list changes.
   */
  chained?: boolean;
  /**
   * How often the list is reloaded while nothing tells this verifier of revocations (no
   * notification channel, or it is down): a revocation reaches it within about this long.
   */
  pollIntervalMs: number;
  /**
   * How often the list is reloaded while a notification channel is up (`setListening(true)`; default
   * `pollIntervalMs`). Each notification reloads at once, so this poll is the backstop for a
   * notification lost on a connection that died without saying so, and what keeps the list younger
   * than the staleness bound: it must fit twice into `maxStalenessSec`, as `pollIntervalMs` must.
   */
  listeningPollIntervalMs?: number;
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

/**
 * The long poll of REVOKED_SESSIONS_PATH: `?wait=<ms>&known=<revocationDigest of the caller's list>`
 * holds the request until the list differs from `known` or `wait` ran out, and answers
 * `{ sessionIds, waitedMs }`, `waitedMs` being how long after receiving the request it read that
 * list. Without `wait` (or from an auth service that does not know it) the answer comes at once.
 */
export const REVOKED_SESSIONS_WAIT_PARAM = 'wait';
export const REVOKED_SESSIONS_KNOWN_PARAM = 'known';

/** A short, order-independent fingerprint of a revocation list, for REVOKED_SESSIONS_KNOWN_PARAM. */
export function revocationDigest(sessionIds: Iterable<string>): string {
  return createHash('sha256')
    .update([...sessionIds].sort().join(','))
    .digest('base64url')
    .slice(0, 22);
}

export type RevocationCheck = 'ok' | 'revoked' | 'unknown';

/**
 * The sessions whose access tokens are refused before they expire, held in memory and reloaded on
 * a timer, so that verifying a token costs a Set lookup, not a database round trip. The list is
 * small by construction: a session stays on it only until its last access token would have
 * expired anyway (auth.session_revocations).
 *
 * A verifier that can be told of revocations (the subgraphs LISTEN for the NOTIFY each new row of
 * auth.session_revocations sends) calls `notified()` on each, which reloads at once, and
 * `setListening(up)` as its channel comes and goes: while it is up the timer reloads every
 * `listeningPollIntervalMs` instead of every `pollIntervalMs`. The staleness rule does not change:
 * a list not reloaded within `maxStalenessSec` refuses, listening or not.
 */
export class RevocationList {
  private revoked = new Set<string>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private stopping = new AbortController();
  private started = false;
  private listening = false;
  private inflight: Promise<boolean> | undefined;
  /** A notification came while a load was running, which may have read before its commit. */
  private again: Promise<boolean> | undefined;
  private failing = false;
  private readonly now: () => number;

  constructor(private readonly options: RevocationListOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads the list once (reported, not thrown) and keeps reloading it until stop(). */
  async start(): Promise<boolean> {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    const loaded = await this.reload();
    this.started = true;
    if (!this.timer) this.schedule();
    return loaded;
  }

  /** Stops the poll, and aborts a load in flight (a long poll would otherwise hold the process). */
  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopping.abort();
  }

  /**
   * The interval of the timer poll now: the rare one while a notification channel is up and the
   * last load worked. After a failed load, the frequent one until a load works again: with the rare
   * one, two failures in a row would already take the list past the staleness bound and refuse
   * every signed-in request.
   */
  get currentPollIntervalMs(): number {
    return this.listening && !this.failing
      ? (this.options.listeningPollIntervalMs ?? this.options.pollIntervalMs)
      : this.options.pollIntervalMs;
  }

  /**
   * A revocation was committed (a NOTIFY arrived): reloads now. A load already running may have
   * read before that commit, so then one more load follows it; notifications meanwhile share it.
   */
  notified(): Promise<boolean> {
    if (!this.inflight) return this.reload();
    this.again ??= this.inflight.then(() => {
      this.again = undefined;
      return this.reload();
    });
    return this.again;
  }

  /**
   * The notification channel is up (LISTEN established) or down. Up: reloads at once (what was
   * revoked while nobody listened was not announced) and polls every `listeningPollIntervalMs`.
   * Down: polls every `pollIntervalMs` again, starting from now.
   */
  setListening(up: boolean): void {
    if (up === this.listening) return;
    this.listening = up;
    if (up) void this.notified();
    if (this.started) this.schedule();
  }

  /** (Re)arms the timer poll with the current interval. */
  private schedule(): void {
    clearTimeout(this.timer);
    if (this.options.chained) {
      this.timer = undefined;
      void this.chain();
      return;
    }
    this.timer = setTimeout(() => {
      void this.reload();
      this.schedule();
    }, this.currentPollIntervalMs);
    // The poll alone must not keep a process alive that is otherwise done.
    this.timer.unref();
  }

  private chaining = false;

  /** `chained`: one load after the other, each no sooner than the poll interval after the last began. */
  private async chain(): Promise<void> {
    if (this.chaining) return;
    this.chaining = true;
    try {
      while (this.started) {
        const began = this.now();
        await this.reload();
        const rest = began + this.currentPollIntervalMs - this.now();
        if (rest > 0 && this.started) {
          const stopping = this.stopping.signal;
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(this.timer);
              stopping.removeEventListener('abort', done);
              resolve();
            };
            this.timer = setTimeout(done, rest);
            this.timer.unref();
            stopping.addEventListener('abort', done, { once: true });
          });
        }
      }
    } finally {
      this.chaining = false;
    }
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

  /** How long until the list is older than the staleness bound (negative once it is, or never loaded). */
  get freshForMs(): number {
    return this.options.maxStalenessSec * 1000 - (this.now() - this.loadedAt);
  }

  private async load(): Promise<boolean> {
    const started = this.now();
    try {
      const answer = await this.options.load(this.stopping.signal);
      const long = isAnswer(answer);
      this.revoked = new Set(long ? answer.sessionIds : answer);
      // The load started before the answer was produced: anything revoked after `started` is in the
      // next load, so the list is as fresh as its start, not as its end; a long poll's, as fresh as
      // the read its source answered with, which came `currentAfterMs` after it received the request
      // (so at least that long after `started`). Never in the future of this clock.
      const currentAfter = long ? Math.max(0, answer.currentAfterMs) : 0;
      this.loadedAt = Math.min(started + currentAfter, this.now());
      if (this.failing) this.options.logger?.info('revocation list reachable again');
      this.failing = false;
      return true;
    } catch (error) {
      // Stopped while it was in flight: not an outage.
      if (this.stopping.signal.aborted) return false;
      // Logged once per outage, not once a second.
      if (!this.failing) {
        this.options.logger?.warn(
          { err: error, maxStalenessSec: this.options.maxStalenessSec },
          'revocation list could not be loaded; authenticated requests are refused once it is older than the bound',
        );
      }
      const wasFailing = this.failing;
      this.failing = true;
      // The timer was armed with the rare interval: the frequent one from now on (chained loads
      // read the interval before each wait).
      if (!wasFailing && this.listening && this.started && !this.options.chained) this.schedule();
      return false;
    }
  }
}

function isAnswer(answer: Iterable<string> | RevocationAnswer): answer is RevocationAnswer {
  return typeof (answer as RevocationAnswer).currentAfterMs === 'number';
}
