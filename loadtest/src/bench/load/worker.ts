/**
 * The load generator process: runs one autocannon job read from the JSON file named on the
 * command line and prints its LoadResult as JSON on the last line of stdout. It runs as its own
 * process (pinned with taskset by the bench) so its CPU is accounted apart from the servers'.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { BENCH_UPLOAD_MUTATION, type LoadJob, type LoadResult } from './job';

interface Counters {
  ok: number;
  shed: number;
  failed: number;
  firstFailure?: string;
}

export function judgeResponse(job: LoadJob, status: number, body: string, counters: Counters): void {
  let ok: boolean;
  if (job.judge.kind === 'graphql') {
    if (status === 200 && !body.includes('"errors"')) ok = true;
    else if (body.includes('TOO_MANY_REQUESTS')) {
      counters.shed++;
      return;
    } else ok = false;
  } else {
    ok = job.judge.ok.includes(status);
  }
  if (ok) counters.ok++;
  else {
    counters.failed++;
    counters.firstFailure ??= `HTTP ${status}: ${body.slice(0, 300)}`;
  }
}

export async function runJob(job: LoadJob): Promise<LoadResult> {
  const counters: Counters = { ok: 0, shed: 0, failed: 0 };
  let next = 0;
  const okEachSecond: number[] = [];
  let specs: Array<{ method: string; path: string; headers: Record<string, string>; body?: string | Buffer }>;
  if (job.uploads) {
    // Loaded only here: the test kit pulls in the database and service kits, about half a second
    // of CPU at every start of a load generator that sends no upload.
    const { multipartUpload, noisePngOfSize } = await import('@imagehub/test-kit');
    const { count, fileBytes, tokens, path } = job.uploads;
    specs = Array.from({ length: count }, (_, i) => {
      const { body, contentType } = multipartUpload(noisePngOfSize(fileBytes), {
        filename: `bench-${i}.png`,
        query: BENCH_UPLOAD_MUTATION,
      });
      return {
        method: 'POST',
        path,
        headers: {
          authorization: `Bearer ${tokens[i % tokens.length]}`,
          'content-type': contentType,
          'apollo-require-preflight': 'true',
        },
        body,
      };
    });
  } else {
    specs = job.requests ?? [];
  }
  if (specs.length === 0) throw new Error(`${job.label}: no requests to send`);

  const started = performance.now();
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    // autocannon rejects keys that are present but undefined.
    ...(job.amount ? { amount: job.amount } : { duration: job.duration ?? 10 }),
    ...(job.overallRate ? { overallRate: job.overallRate } : {}),
    timeout: job.timeoutSec ?? 30,
    pipelining: 1,
    requests: [
      {
        // One shared cursor across connections: consecutive requests carry different users.
        setupRequest: (request) => {
          const spec = specs[next++ % specs.length] as (typeof specs)[number];
          return { ...request, method: spec.method, path: spec.path, headers: spec.headers, body: spec.body };
        },
        onResponse: (status, body) => {
          const okBefore = counters.ok;
          judgeResponse(job, status, body, counters);
          if (counters.ok > okBefore) {
            const second = Math.floor((performance.now() - started) / 1000);
            while (okEachSecond.length <= second) okEachSecond.push(0);
            okEachSecond[second] = (okEachSecond[second] as number) + 1;
          }
        },
      } as autocannon.Request,
    ],
  });
  const durationSec = result.duration;
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = (stats as { count: number }).count;
  }
  const requests = counters.ok + counters.shed + counters.failed;
  return {
    label: job.label,
    durationSec,
    requests,
    ok: counters.ok,
    shed: counters.shed,
    failed: counters.failed + result.errors,
    okPerSec: counters.ok / durationSec,
    requestsPerSec: requests / durationSec,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    statusCodes,
    transportErrors: result.errors,
    timeouts: result.timeouts,
    firstFailure: counters.firstFailure,
    okEachSecond,
  };
}

if (require.main === module) {
  const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as LoadJob;
  runJob(job).then(
    (result) => process.stdout.write(`\n${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
