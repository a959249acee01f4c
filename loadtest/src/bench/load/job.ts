/** What the bench asks of the load generator process, and what it gets back (JSON both ways). */

/** What the bench's uploads ask back (less than the tests' mutation: the bench measures the upload). */
export const BENCH_UPLOAD_MUTATION =
  'mutation Upload($file: Upload!) { uploadImage(file: $file) { id url } }';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadJob {
  label: string;
  /** Origin of the target, e.g. http://127.0.0.1:4100. */
  url: string;
  connections: number;
  /** Seconds; or `amount` requests in total. */
  duration?: number;
  amount?: number;
  /** Requests per second across all connections (open-loop pacing), for latency under a fixed load. */
  overallRate?: number;
  timeoutSec?: number;
  /** How a response counts as a success. `graphql`: 200 without `errors`; `status`: the listed codes. */
  judge: { kind: 'graphql' } | { kind: 'status'; ok: number[] };
  /** Request i uses requests[i % length], so every request can carry a different user's token. */
  requests?: RequestSpec[];
  /** Generated in the load process: `count` distinct noise PNGs of `fileBytes`, one per request. */
  uploads?: { path: string; count: number; fileBytes: number; tokens: string[] };
}

export interface LoadResult {
  label: string;
  durationSec: number;
  requests: number;
  ok: number;
  /** GraphQL TOO_MANY_REQUESTS: the server shedding load on purpose. */
  shed: number;
  failed: number;
  okPerSec: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCodes: Record<string, number>;
  transportErrors: number;
  timeouts: number;
  firstFailure?: string;
  /**
   * Successful responses in each second since the start (the last one may be partial): shows how
   * long a fresh process takes to reach its steady rate.
   */
  okEachSecond: number[];
}
