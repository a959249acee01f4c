import {
  type Logger,
  REVOKED_SESSIONS_KNOWN_PARAM,
  REVOKED_SESSIONS_WAIT_PARAM,
  type RevocationAnswer,
  RevocationList,
  revocationDigest,
} from '@imagehub/service-kit';
import type { Config } from './config';

/**
 * The gateway's list of revoked sessions, long-polled from the auth service (the gateway has no
 * database). Each request is held by auth until a revocation commits or
 * REVOCATION_LISTEN_POLL_INTERVAL_MS passed, and the next one goes out when it is answered (no
 * sooner than REVOCATION_POLL_INTERVAL_MS after the last began): a revocation arrives at once, and
 * an idle gateway asks every 4 s, not every 1 s.
 *
 * How long an answer may take beyond the wait: whatever the list has left before it goes stale by
 * then (at least READY_CHECK_TIMEOUT_MS), and once it is stale, or was never loaded, the whole bound,
 * since no answer can make it worse. A fixed second was too short on a loaded machine: with an auth
 * service a second and a half slow, every request was given up, and every retry (as slow), until
 * the list went stale and each signed-in upload was refused, though each answer would have come in
 * time. Given up later, a request stuck on a dead connection costs the list its margin, not more:
 * it goes stale as the request is given up, and the retry goes out at once on a new connection.
 */
export function authRevocationList(
  config: Pick<Config, 'revokedSessionsUrl' | 'readyCheckTimeoutMs' | 'revocation'>,
  logger: Logger,
): RevocationList {
  let known: string | undefined;
  const revocations: RevocationList = new RevocationList({
    load: async (signal) => {
      const waitMs = known === undefined ? 0 : config.revocation.listeningPollIntervalMs;
      const left = revocations.freshForMs - waitMs;
      const timeoutMs =
        left > 0 ? Math.max(config.readyCheckTimeoutMs, left) : config.revocation.maxStalenessSec * 1000;
      try {
        const answer = await fetchRevokedSessions(config.revokedSessionsUrl, {
          timeoutMs,
          waitMs,
          known,
          signal,
        });
        known = revocationDigest(answer.sessionIds);
        return answer;
      } catch (error) {
        // The next request after a failed one is answered at once, not held: held again, two
        // failures in a row would take the list past the staleness bound.
        known = undefined;
        throw error;
      }
    },
    chained: true,
    ...config.revocation,
    logger,
  });
  return revocations;
}

/**
 * The revoked sessions from the auth service: at once when `known` (the digest of the list this
 * gateway holds) is not given, else a long poll of up to `waitMs` (see REVOKED_SESSIONS_WAIT_PARAM).
 * `timeoutMs` is for the answer beyond the wait. An auth service that does not hold requests
 * answers at once without `waitedMs`: the list is then as fresh as the request.
 */
export async function fetchRevokedSessions(
  url: string,
  options: { timeoutMs: number; waitMs: number; known?: string; signal?: AbortSignal },
): Promise<RevocationAnswer & { sessionIds: string[] }> {
  const target = new URL(url);
  const waitMs = options.known === undefined ? 0 : options.waitMs;
  if (waitMs > 0 && options.known !== undefined) {
    target.searchParams.set(REVOKED_SESSIONS_WAIT_PARAM, String(waitMs));
    target.searchParams.set(REVOKED_SESSIONS_KNOWN_PARAM, options.known);
  }
  // One controller per request for the timeout and the caller's signal (not AbortSignal.any on the
  // caller's long-lived signal, which would gather a dependant per request for the process' life).
  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(new DOMException('revoked sessions: no answer in time', 'TimeoutError')),
    waitMs + options.timeoutMs,
  );
  const stop = () => abort.abort(options.signal?.reason);
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  let body: { sessionIds?: unknown; waitedMs?: unknown };
  try {
    const response = await fetch(target, { signal: abort.signal });
    if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
    body = (await response.json()) as typeof body;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
  }
  if (!Array.isArray(body.sessionIds) || !body.sessionIds.every((id) => typeof id === 'string')) {
    throw new Error(`${url} answered without a list of session ids`);
  }
  const waited = typeof body.waitedMs === 'number' && Number.isFinite(body.waitedMs) ? body.waitedMs : 0;
  // Never credited with more than it was asked to wait: the freshness is this gateway's to bound.
  return { sessionIds: body.sessionIds, currentAfterMs: Math.min(Math.max(0, waited), waitMs) };
}
