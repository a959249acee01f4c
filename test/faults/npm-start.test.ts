/**
 * `npm start` as a supervisor, run exactly as a user runs it (`npm start`, its own embedded Postgres,
 * free ports, a throw-away DATA_DIR):
 * - a service killed under it (SIGKILL, as the OOM killer does) is restarted, the others keep their
 *   processes and keep serving meanwhile, and the system answers again;
 * - a service that keeps dying is given up on, naming it and why, and nothing is left behind;
 * - SIGTERM to npm leaves no process and no listening port; so does SIGINT to npm's whole process
 *   group (a terminal's Ctrl+C), which reaches the supervisor twice (directly, and passed on by npm);
 * - ports that cannot work (taken by another program, or two services given the same one, metrics
 *   ports included) are refused before anything starts, each named by its variable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@imagehub/db';
import { uploadImage } from '@imagehub/subgraph-image/test-support';
import { eventually } from '@imagehub/test-kit';
import { uniquePng } from '../support/images';

const ROOT = path.resolve(__dirname, '../..');
const SERVICES = ['postgres', 'subgraph-auth', 'subgraph-image', 'image-worker', 'gateway'] as const;
type Unit = (typeof SERVICES)[number];

interface NpmStart {
  npm: ChildProcess;
  output: string[];
  ports: {
    gateway: number;
    auth: number;
    image: number;
    worker: number;
    workerMetrics: number;
    postgres: number;
  };
  dataDir: string;
  /** The latest pid each unit reported ("<unit> is up (pid N)"). */
  pids(): Partial<Record<Unit, number>>;
  /** Resolves with the first output line matching `pattern`, from the start of the run. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function npmStart(
  env: Record<string, string> = {},
  { waitUntilReady = true, ownGroup = false } = {},
): Promise<NpmStart> {
  const ports = {
    gateway: await freePort(),
    auth: await freePort(),
    image: await freePort(),
    worker: await freePort(),
    workerMetrics: await freePort(),
    postgres: await freePort(),
  };
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imagehub-npm-start-'));
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, as a terminal gives it: its Ctrl+C reaches npm and its children.
    detached: ownGroup,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      GATEWAY_PORT: String(ports.gateway),
      AUTH_PORT: String(ports.auth),
      IMAGE_PORT: String(ports.image),
      WORKER_PORT: String(ports.worker),
      WORKER_METRICS_PORT: String(ports.workerMetrics),
      EMBEDDED_PG_PORT: String(ports.postgres),
      ...env,
    },
  });
  const output: string[] = [];
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    for (const listener of listeners) listener();
  };
  npm.stdout?.on('data', collect);
  npm.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started: NpmStart = {
    npm,
    output,
    ports,
    dataDir,
    exited,
    pids: () => {
      const pids: Partial<Record<Unit, number>> = {};
      for (const line of output) {
        const match = /^\[start\] (\S+) is up \(pid (\d+)\)/.exec(line);
        if (match) pids[match[1] as Unit] = Number(match[2]);
      }
      return pids;
    },
    waitFor: (pattern, timeoutMs = 90_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = output.find((l) => pattern.test(l));
          if (!line) return;
          cleanup();
          resolve(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${output.slice(-30).join('\n')}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
  if (waitUntilReady) await started.waitFor(/^\[start\] ready in/);
  return started;
}

const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Postgres's own server process (not our wrapper), from its pid file. */
const postmasterPid = (dataDir: string) =>
  Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);

async function gql(port: number, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  return (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { extensions?: { code?: string } }[];
  };
}

const upload = async (port: number, token: string) =>
  uploadImage(`http://127.0.0.1:${port}`, token, await uniquePng(), 'a.png') as Promise<{
    data?: { uploadImage?: { id: string } } | null;
  }>;

/** After npm has gone: every process it started is gone too, and no port it used still listens. */
async function expectNothingLeft(run: NpmStart, pids: number[]) {
  await eventually('every process gone', 15_000, () => !pids.some(alive));
  for (const port of Object.values(run.ports)) expect([port, await listening(port)]).toEqual([port, false]);
}

describe('npm start', () => {
  let run: NpmStart | undefined;

  afterEach(async () => {
    // Whatever a failed test left: the whole group of each unit, and Postgres by its pid file.
    if (run) {
      for (const pid of Object.values(run.pids())) if (alive(pid)) process.kill(-pid, 'SIGKILL');
      if (alive(run.npm.pid)) run.npm.kill('SIGKILL');
      rmSync(run.dataDir, { recursive: true, force: true });
      run = undefined;
    }
  });

  test('restarts a killed service while the others keep serving; SIGTERM then leaves nothing behind', async () => {
    // A backoff long enough to look at the system while the image subgraph is away.
    run = await npmStart({ RESTART_BACKOFF_MS: '3000' });
    const { gateway } = run.ports;
    const password = 'correct horse battery staple';
    const registered = await gql(
      gateway,
      'mutation($e: String!, $p: String!) { register(name: "Kit", email: $e, password: $p) { accessToken } }',
      { e: `kit-${Date.now()}@example.com`, p: password },
    );
    const token = String((registered.data?.register as { accessToken?: string } | undefined)?.accessToken);
    expect((await upload(gateway, token)).data?.uploadImage?.id).toBeDefined();

    const before = run.pids();
    process.kill(before['subgraph-image']!, 'SIGKILL');
    await run.waitFor(/subgraph-image exited unexpectedly \(killed by SIGKILL\); restarting in 3\.0 s/);

    // Meanwhile: auth answers through the gateway, and the image fields are coded as unavailable.
    expect((await gql(gateway, '{ me { id } }', {}, token)).data?.me).toBeDefined();
    const images = await gql(gateway, '{ myImages { totalCount } }', {}, token);
    expect(images.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');

    await run.waitFor(/subgraph-image restarted in/, 60_000);
    const after = run.pids();
    expect(after['subgraph-image']).not.toBe(before['subgraph-image']);
    // Nobody else was restarted.
    for (const unit of ['postgres', 'subgraph-auth', 'image-worker', 'gateway'] as const) {
      expect([unit, after[unit]]).toEqual([unit, before[unit]]);
      expect(alive(after[unit])).toBe(true);
    }
    // And the system answers again, uploads included.
    await eventually('uploads work again', 20_000, async () =>
      Boolean((await upload(gateway, token)).data?.uploadImage?.id),
    );
    const listed = await gql(gateway, '{ myImages { totalCount } }', {}, token);
    expect(listed.data?.myImages).toEqual({ totalCount: 2 });

    const everything = [...Object.values(run.pids()), postmasterPid(run.dataDir)] as number[];
    run.npm.kill('SIGTERM');
    const exited = await run.exited;
    expect(exited.code).toBe(0);
    expect(run.output).toContainEqual('[start] stopped');
    await expectNothingLeft(run, everything);
    // Postgres was stopped, not killed: it says so in its own log the next time; here, no pid file.
    expect(() => postmasterPid(run!.dataDir)).toThrow(/ENOENT/);
  });

  test("Ctrl+C (SIGINT to npm's process group) stops everything in order, Postgres cleanly", async () => {
    run = await npmStart({}, { ownGroup: true });
    const everything = [...Object.values(run.pids()), postmasterPid(run.dataDir)] as number[];
    process.kill(-run.npm.pid!, 'SIGINT');
    const exited = await run.exited;
    expect(run.output).toContainEqual('[start] stopped');
    // npm's copy of the signal is not taken for a second, impatient Ctrl+C.
    expect(run.output.join('\n')).not.toMatch(/again: killing everything/);
    expect(exited.code).toBe(0);
    await expectNothingLeft(run, everything);
    expect(() => postmasterPid(run!.dataDir)).toThrow(/ENOENT/);
  });

  test('gives up on a service that keeps crashing, naming it and why, and leaves nothing behind', async () => {
    run = await npmStart({ MAX_CRASHES: '2', RESTART_BACKOFF_MS: '200' });
    const everything = new Set<number>([postmasterPid(run.dataDir)]);
    // The OOM killer, again and again: each time it comes back, it is killed.
    for (let crash = 1; crash <= 3; crash++) {
      const pid = run.pids()['subgraph-auth']!;
      for (const p of Object.values(run.pids())) everything.add(p!);
      process.kill(pid, 'SIGKILL');
      if (crash < 3) {
        await eventually('subgraph-auth back', 60_000, () => run!.pids()['subgraph-auth'] !== pid);
      }
    }
    const line = await run.waitFor(/^\[start\] giving up: /);
    expect(line).toMatch(/giving up: subgraph-auth crashed 3 times within 60 s \(last: killed by SIGKILL\)/);
    const exited = await run.exited;
    expect(exited.code).toBe(1);
    await expectNothingLeft(run, [...everything]);
  });

  test('refuses taken and clashing ports, metrics ports included, before starting anything', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen({ port: 0, host: '127.0.0.1' }, resolve));
    const taken = (squatter.address() as net.AddressInfo).port;
    try {
      const imagePort = await freePort();
      run = await npmStart(
        {
          GATEWAY_METRICS_PORT: String(taken),
          IMAGE_PORT: String(imagePort),
          AUTH_METRICS_PORT: String(imagePort),
        },
        { waitUntilReady: false },
      );
      const exited = await run.exited;
      expect(exited.code).toBe(1);
      const said = run.output.join('\n');
      expect(said).toContain('[start] cannot start:');
      expect(said).toContain(`GATEWAY_METRICS_PORT=${taken}: the port is in use by another program`);
      expect(said).toContain(`AUTH_METRICS_PORT=${imagePort}: IMAGE_PORT is the same port`);
      // Nothing was started: no Postgres, no service.
      expect(said).not.toMatch(/starting embedded Postgres| is up \(pid/);
      expect(() => postmasterPid(run!.dataDir)).toThrow(/ENOENT/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
