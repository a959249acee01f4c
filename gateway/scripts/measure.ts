/**
 * Measures the gateway on this machine, all in one run, each service in its own process (as in
 * production, via the launcher npm start uses):
 *   1. requests/s and p99 of `me { id name }` and `me { images(first: 20) { ... } }` through the
 *      gateway, and of `me { id name }` on the auth subgraph directly (autocannon, same settings);
 *   2. the gateway's resident memory (VmRSS from /proc, sampled every 20 ms) while idle and during
 *      10 concurrent multipart uploads of 8 MiB each.
 *
 *   npx tsx --conditions=development gateway/scripts/measure.ts [--duration 10] [--connections 20]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, noisePngOfSize } from '@imagehub/test-kit';
import autocannon from 'autocannon';
import {
  ROOT,
  runMigrations,
  serviceEntry,
  spawnService,
  startEmbeddedDatabase,
  stopProcess,
  waitUntilReady,
} from '../../scripts/system';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const DURATION_SEC = option('duration', 10);
const CONNECTIONS = option('connections', 20);
const UPLOADS = option('uploads', 10);
const UPLOAD_BYTES = option('upload-mib', 8) * 1024 * 1024;
/** `--profile DIR`: the gateway writes a V8 CPU profile there on exit (for finding its hot paths). */
const PROFILE_DIR = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : undefined;

const log = (message: string) => process.stdout.write(`${message}\n`);

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kib * 1024;
}

/** CPU time (user + system) a process has used so far, in ms; clock ticks are 100 Hz on Linux. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function post(url: string, body: unknown, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return (await response.json()) as { data?: { register?: { accessToken?: string } }; errors?: unknown[] };
}

function upload(gatewayUrl: string, token: string, bytes: Uint8Array, name: string) {
  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({
      query: 'mutation ($file: Upload!) { uploadImage(file: $file) { id byteSize } }',
      variables: { file: null },
    }),
  );
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), name);
  return fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
    body: form,
  }).then((r) => r.json() as Promise<{ data?: { uploadImage?: { byteSize: number } }; errors?: unknown[] }>);
}

async function load(name: string, url: string, query: string, token: string, pids: Record<string, number>) {
  const options = {
    url,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
    connections: CONNECTIONS,
  };
  await autocannon({ ...options, duration: 2 }); // warm-up: JIT, query plan cache, connection pools
  const cpuBefore = {
    gateway: cpuMs(pids.gateway!),
    auth: cpuMs(pids['subgraph-auth']!),
    image: cpuMs(pids['subgraph-image']!),
  };
  const result = await autocannon({ ...options, duration: DURATION_SEC });
  const perRequest = (pid: number, before: number) =>
    ((cpuMs(pid) - before) / result.requests.total).toFixed(2);
  const failed = result.non2xx + result.errors + result.timeouts;
  return {
    name,
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    requests: result.requests.total,
    failed,
    // CPU per request is what the gateway costs regardless of what else shares the machine.
    'gateway CPU ms/req': perRequest(pids.gateway!, cpuBefore.gateway),
    'auth CPU ms/req': perRequest(pids['subgraph-auth']!, cpuBefore.auth),
    'image CPU ms/req': perRequest(pids['subgraph-image']!, cpuBefore.image),
  };
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'imagehub-measure-'));
  // As root, the embedded Postgres runs as an unprivileged user that must be able to pass through.
  chmodSync(workDir, 0o711);
  const children: ChildProcess[] = [];
  const [pgPort, authPort, imagePort, workerPort, gatewayPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const database = await startEmbeddedDatabase({
    dataDir: path.join(workDir, 'pg'),
    port: pgPort,
    database: 'imagehub',
    ephemeral: true,
  });
  try {
    await runMigrations(database.url);
    const env = {
      ...process.env,
      NODE_ENV: 'development',
      // Access logs at info cost every service the same per request; they are off for all three.
      LOG_LEVEL: 'warn',
      DATA_DIR: path.join(workDir, 'data'),
      DATABASE_URL: database.url,
      AUTH_PORT: String(authPort),
      IMAGE_PORT: String(imagePort),
      WORKER_PORT: String(workerPort),
      GATEWAY_PORT: String(gatewayPort),
      AUTH_JWKS_URL: `http://127.0.0.1:${authPort}/.well-known/jwks.json`,
      AUTH_SUBGRAPH_URL: `http://127.0.0.1:${authPort}/graphql`,
      IMAGE_SUBGRAPH_URL: `http://127.0.0.1:${imagePort}/graphql`,
      PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
    };
    const ports = {
      'subgraph-auth': authPort,
      'subgraph-image': imagePort,
      'image-worker': workerPort,
      gateway: gatewayPort,
    } as const;
    const pids: Record<string, number> = {};
    // The image worker decodes the uploads (issue 14).
    for (const name of ['subgraph-auth', 'subgraph-image', 'image-worker', 'gateway'] as const) {
      // Node refuses --cpu-prof in NODE_OPTIONS, so a profiled gateway is spawned by hand.
      const child =
        name === 'gateway' && PROFILE_DIR
          ? spawn(
              process.execPath,
              [
                '--cpu-prof',
                `--cpu-prof-dir=${PROFILE_DIR}`,
                '--conditions=development',
                '--import',
                'tsx',
                serviceEntry(name),
              ],
              { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env },
            )
          : spawnService(name, env, 'inherit');
      children.push(child);
      pids[name] = child.pid!;
      await waitUntilReady(ports[name], 60_000);
    }
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const authUrl = `http://127.0.0.1:${authPort}`;

    const email = `bench-${Date.now()}@example.test`;
    const registered = await post(`${gatewayUrl}/graphql`, {
      query:
        'mutation ($e: String!) { register(name: "Bench", email: $e, password: "a long bench passphrase 1") { accessToken } }',
      variables: { e: email },
    });
    const token = registered.data?.register?.accessToken;
    if (!token) throw new Error(`register failed: ${JSON.stringify(registered.errors)}`);
    const small = noisePngOfSize(2_000);
    for (let i = 0; i < 20; i++) {
      const result = await upload(gatewayUrl, token, small, `small-${i}.png`);
      if (result.errors) throw new Error(`upload failed: ${JSON.stringify(result.errors)}`);
    }

    const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    log(`\n== Machine: ${availableParallelism()} CPUs, load average ${load1} before the run`);
    log(
      `\n== Throughput: autocannon, ${CONNECTIONS} connections, ${DURATION_SEC} s each (after a 2 s warm-up), one machine`,
    );
    const rows = [
      await load(
        'auth subgraph direct: me { id name }',
        `${authUrl}/graphql`,
        '{ me { id name } }',
        token,
        pids,
      ),
      await load('gateway: me { id name }', `${gatewayUrl}/graphql`, '{ me { id name } }', token, pids),
      await load(
        'gateway: me { images(first: 20) { edges { node { id url } } } }',
        `${gatewayUrl}/graphql`,
        '{ me { images(first: 20) { edges { node { id url } } } } }',
        token,
        pids,
      ),
    ];
    console.table(rows);

    // Same count, two file sizes: if the gateway held files, its growth would scale with their size.
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    const memoryRows = [];
    for (const size of [1024 * 1024, UPLOAD_BYTES]) {
      const files = Array.from({ length: UPLOADS }, () => noisePngOfSize(size - 64 * 1024));
      // Let earlier garbage settle before taking the idle figure.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const idle = rssBytes(pids.gateway!);
      let gatewayPeak = idle;
      let imagePeak = rssBytes(pids['subgraph-image']!);
      const sampler = setInterval(() => {
        gatewayPeak = Math.max(gatewayPeak, rssBytes(pids.gateway!));
        imagePeak = Math.max(imagePeak, rssBytes(pids['subgraph-image']!));
      }, 20);
      const started = Date.now();
      const results = await Promise.all(
        files.map((file, i) => upload(gatewayUrl, token, file, `big-${i}.png`)),
      );
      clearInterval(sampler);
      const stored = results.filter((r) => r.data?.uploadImage).length;
      if (stored !== UPLOADS) log(`upload errors: ${JSON.stringify(results.find((r) => r.errors)?.errors)}`);
      memoryRows.push({
        'file size': mib(files[0]!.length),
        'concurrent uploads': UPLOADS,
        stored,
        seconds: ((Date.now() - started) / 1000).toFixed(1),
        'gateway idle RSS': mib(idle),
        'gateway peak RSS': mib(gatewayPeak),
        'gateway growth': mib(gatewayPeak - idle),
        'image subgraph peak RSS': mib(imagePeak),
      });
    }
    log(`\n== Gateway memory (VmRSS sampled every 20 ms) during ${UPLOADS} concurrent multipart uploads`);
    console.table(memoryRows);
  } finally {
    for (const child of children.reverse()) await stopProcess(child);
    await database.server.stop().catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
