import {
  REVOKED_SESSIONS_KNOWN_PARAM,
  REVOKED_SESSIONS_WAIT_PARAM,
  revocationDigest,
} from '@imagehub/service-kit';
import type { RequestHandler } from 'express';

/** The longest a caller may have its request held, whatever it asks for. */
export const MAX_REVOKED_SESSIONS_WAIT_MS = 30_000;

/** The held requests of REVOKED_SESSIONS_PATH, woken together when a revocation is notified. */
export class RevocationWaiters {
  private readonly waiters = new Set<() => void>();

  /** Registered at once: resolves at the next `notify()`, after `ms`, or at `cancel()`. */
  wait(ms: number): { woken: Promise<void>; cancel: () => void } {
    let cancel = () => {};
    const woken = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      cancel = done;
    });
    return { woken, cancel };
  }

  /** A revocation committed, or this process is draining: every held request reads and answers now. */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  get size(): number {
    return this.waiters.size;
  }
}

export interface RevokedSessionsOptions {
  /** The list as the database has it now (not this process' copy, which may be a reload behind). */
  listRevoked: () => Promise<string[]>;
  waiters: RevocationWaiters;
  /**
   * How long a request may be held now: while this process LISTENs for revocations, up to
   * MAX_REVOKED_SESSIONS_WAIT_MS (a change wakes it); while it does not, no longer than its own
   * poll interval, so the caller hears of a change as soon as it would by polling.
   */
  maxWaitMs: () => number;
  isDraining: () => boolean;
}

/**
 * GET REVOKED_SESSIONS_PATH, for the gateway (which has no database). Plain: the list at once.
 * Long poll (`?wait=<ms>&known=<digest>`): the waiter is registered first, then the list is read;
 * if it differs from the caller's (a revocation since the caller's last answer) it is answered at
 * once, else the request is held until a revocation is notified or the wait runs out, and the list
 * is read again and answered. `waitedMs` says how long after receiving the request the answered
 * list was read: the caller's copy is current as of then, which is what its staleness rule counts.
 */
export function revokedSessionsHandler(options: RevokedSessionsOptions): RequestHandler {
  return async (req, res, next) => {
    const arrived = performance.now();
    const asked = Number(req.query[REVOKED_SESSIONS_WAIT_PARAM]);
    const known = req.query[REVOKED_SESSIONS_KNOWN_PARAM];
    const waitMs =
      Number.isInteger(asked) && asked > 0 && typeof known === 'string' && !options.isDraining()
        ? Math.min(asked, options.maxWaitMs(), MAX_REVOKED_SESSIONS_WAIT_MS)
        : 0;
    const held = waitMs > 0 ? options.waiters.wait(waitMs) : undefined;
    // A caller that went away frees its place at once.
    res.on('close', () => held?.cancel());
    try {
      let readAt = performance.now();
      let sessionIds = await options.listRevoked();
      if (held && revocationDigest(sessionIds) === known) {
        await held.woken;
        if (res.writableEnded || res.destroyed) return;
        readAt = performance.now();
        sessionIds = await options.listRevoked();
      }
      res.setHeader('Cache-Control', 'no-store');
      res.json({ sessionIds, waitedMs: Math.max(0, Math.floor(readAt - arrived)) });
    } catch (error) {
      next(error);
    } finally {
      held?.cancel();
    }
  };
}
