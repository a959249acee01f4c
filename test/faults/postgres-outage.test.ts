/**
 * Postgres stops under load and comes back. While it is gone, requests fail fast with a coded error
 * (none hangs past the bound), the subgraphs report not ready, and errors leak nothing (the system
 * runs in production mode). Once it is back, everything succeeds again with no service restarted,
 * and no upload is half-stored.
 */
import { eventually } from '@imagehub/test-kit';
import { uniquePng } from '../support/images';
import { Workload } from '../support/load';
import { type AuthSession, SERVICES, System } from '../support/system';

const REQUEST_BOUND_MS = 10_000;

let sys: System;
let users: AuthSession[];

beforeAll(async () => {
  sys = await System.start({ database: 'embedded', nodeEnv: 'production', logLevel: 'info' });
  users = [];
  for (let i = 0; i < 3; i++) users.push(await sys.register());
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

async function readyz(service: (typeof SERVICES)[number]): Promise<number> {
  try {
    const response = await fetch(`${sys.url(service)}/readyz`, { signal: AbortSignal.timeout(5_000) });
    return response.status;
  } catch {
    return 0;
  }
}

test('Postgres stops under load and comes back: fast coded failures, recovery without restarts, nothing half-stored', async () => {
  const pids = Object.fromEntries(SERVICES.map((name) => [name, sys.pid(name)]));
  const imagesBefore = (await sys.counts()).images;
  let probeUploads = 0;
  const load = new Workload(sys, users, {
    concurrency: 6,
    timeoutMs: REQUEST_BOUND_MS,
    weights: { me: 3, images: 2, login: 1, upload: 2 },
  });
  await load.start();
  const finished = (since: number, ok?: boolean) =>
    load.samples.filter((s) => s.at >= since && (ok === undefined || s.ok === ok));
  await eventually('the load running clean before the outage', 20_000, () => finished(0, true).length >= 20);

  const stoppedAt = load.elapsed();
  await sys.stopPostgres();
  const outageStarted = load.elapsed();

  // Both subgraphs notice and say so, without being asked to restart.
  await eventually('auth /readyz false', 10_000, async () => (await readyz('subgraph-auth')) === 503);
  await eventually('image /readyz false', 10_000, async () => (await readyz('subgraph-image')) === 503);
  // Postgres stays down until every kind of operation has failed against the outage, several times over.
  const kinds = ['me', 'images', 'login', 'upload'];
  await eventually('every operation failing during the outage', 30_000, () => {
    const failed = finished(outageStarted, false);
    return failed.length >= 20 && kinds.every((op) => failed.some((s) => s.op === op));
  });

  await sys.startPostgres();
  const restoredAt = load.elapsed();
  // Recovery is judged by explicit probes, not by whichever operations the random mix happened to pick.
  const recoveryMs = await eventually('every operation succeeding again', 20_000, async () => {
    const user = users[0]!;
    const results = await Promise.all([
      sys.gql('{ me { id name } }', {}, user.accessToken),
      sys.gql('{ me { images(first: 5) { totalCount } } }', {}, user.accessToken),
      sys.gql('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }', {
        e: user.email,
        p: user.password,
      }),
      sys.upload(await uniquePng(), user.accessToken),
    ]);
    const uploaded = (results[3].data as { uploadImage?: unknown } | undefined)?.uploadImage;
    if (uploaded) probeUploads++;
    return results.every((r) => r.status === 200 && !r.errors && r.data);
  });
  const recoveredAt = load.elapsed();
  await eventually('load after the recovery', 20_000, () => finished(recoveredAt + 1).length >= 20);
  await eventually('auth /readyz true', 10_000, async () => (await readyz('subgraph-auth')) === 200);
  await eventually('image /readyz true', 10_000, async () => (await readyz('subgraph-image')) === 200);
  const samples = await load.stop();

  // Nobody was restarted.
  expect(Object.fromEntries(SERVICES.map((name) => [name, sys.pid(name)]))).toEqual(pids);
  expect(SERVICES.every((name) => sys.children.get(name)?.exitCode === null)).toBe(true);

  // During the outage: failures, each fast enough and coded, none of them a hang.
  const during = samples.filter((s) => s.at >= outageStarted && s.at + s.ms <= restoredAt);
  const failures = during.filter((s) => !s.ok);
  expect(during.length).toBeGreaterThan(0);
  expect(failures.length).toBeGreaterThan(0);
  expect(samples.filter((s) => s.code === 'TIMEOUT')).toEqual([]);
  for (const failure of failures) {
    expect(failure.code).toMatch(/^[A-Z_]+$/);
    expect(failure.code).not.toMatch(/^HTTP_|NETWORK/);
    expect(failure.message ?? '').not.toMatch(
      /ECONNREFUSED|connect |terminating connection|node_modules|\bat .+:\d+/,
    );
  }

  // Once recovered, the load ran clean.
  expect(samples.filter((s) => s.at > recoveredAt && !s.ok)).toEqual([]);

  // Stored exactly what was acknowledged, no more and nothing broken.
  const uploadsOk = samples.filter((s) => s.op === 'upload' && s.ok).length + probeUploads;
  expect((await sys.counts()).images - imagesBefore).toBe(uploadsOk);
  expect(await sys.storageProblems()).toEqual([]);

  const byCode = failures.reduce<Record<string, number>>((acc, s) => {
    acc[s.code!] = (acc[s.code!] ?? 0) + 1;
    return acc;
  }, {});
  process.stdout.write(
    `${JSON.stringify({ stoppedAt, restoredAt, recoveryMs, requests: samples.length, duringOutage: during.length, failures: byCode, slowestFailureMs: Math.max(...failures.map((f) => f.ms)) })}\n`,
  );
});
