/**
 * Measures what one maximum-size upload costs the image worker in memory (it decodes since issue 14):
 * spawns the real subgraph and worker (processes of their own, so the numbers are the worker's own), uploads a ~10 MiB, ~36-megapixel JPEG over HTTP, and
 * reads the kernel's peak resident set (VmHWM in /proc/<pid>/status) before and after.
 *
 *   DATABASE_URL=postgres://.../a_scratch_database npx tsx --conditions=development subgraph-image/scripts/measure-upload-memory.ts
 *
 * Linux only (/proc). The database is migrated first; the uploaded image is deleted afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createDb, freePort, migrateLatest } from '@imagehub/db';
import sharp from 'sharp';
import { createTestTokens, graphql, uploadImage } from '../src/test-support';

const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Noise over a gradient: compresses badly, so a big-pixel JPEG lands near the byte limit. */
async function maxSizeJpeg(width: number, height: number): Promise<Buffer> {
  const noise = randomBytes(width * height);
  for (const quality of [40, 35, 30, 27, 25, 22, 20, 15, 10, 5]) {
    const jpeg = await sharp(noise, { raw: { width, height, channels: 1 } })
      .toColourspace('srgb')
      .jpeg({ quality })
      .toBuffer();
    if (jpeg.length <= MAX_UPLOAD_BYTES) return jpeg;
  }
  throw new Error('could not fit the test image under the limit');
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('service did not become ready');
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required');
  const db = createDb({ url: databaseUrl, applicationName: 'measure-upload-memory', poolMax: 1 });
  await migrateLatest(db);
  // Uploads are stored only for users that exist.
  const userId = randomUUID();
  await db('auth.users').insert({
    id: userId,
    email: `${userId}@example.test`,
    name: 'Measure',
    password_hash: 'x',
  });
  await db.destroy();

  const width = 6000;
  const height = 6000;
  const jpeg = await maxSizeJpeg(width, height);
  const tokens = createTestTokens();
  const token = tokens.mint(userId);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const workerPort = await freePort();

  // The decode runs in the worker (issue 14): that is the process measured.
  const start = (entry: string) =>
    spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(__dirname, entry)], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        DATABASE_URL: databaseUrl,
        IMAGE_PORT: String(port),
        PUBLIC_URL: url,
        URL_SIGNING_KEY: randomBytes(32).toString('base64url'),
        AUTH_PUBLIC_JWKS: JSON.stringify({ keys: tokens.jwks }),
        IMAGE_METRICS_PORT: '0',
        WORKER_PORT: String(workerPort),
        WORKER_METRICS_PORT: '0',
        IMAGE_JOB_QUEUE: `measure-${randomUUID()}`,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  const child = start('../src/main.ts');
  const worker = start('../src/worker/main.ts');
  try {
    await waitReady(url, child);
    await waitReady(`http://127.0.0.1:${workerPort}`, worker);
    const pid = worker.pid!;
    const idle = memory(pid);
    // A small upload first, so libvips and the codecs are loaded before the baseline is taken.
    const small = await sharp({ create: { width: 64, height: 64, channels: 3, background: 'red' } })
      .jpeg()
      .toBuffer();
    await uploadImage(url, token, small, 'warmup.jpg');
    const warm = memory(pid);

    let sampledPeak = 0;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, memory(pid).rss);
    }, 10);
    const started = Date.now();
    const result = await uploadImage<{ uploadImage: { id: string; byteSize: number } }>(
      url,
      token,
      jpeg,
      'max.jpg',
      {
        query: 'mutation($file: Upload!) { uploadImage(file: $file) { id byteSize width height } }',
      },
    );
    const elapsed = Date.now() - started;
    clearInterval(sampler);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    const after = memory(pid);

    console.log(
      JSON.stringify(
        {
          upload: {
            bytes: jpeg.length,
            size: mib(jpeg.length),
            width,
            height,
            megapixels: (width * height) / 1e6,
          },
          storedBytes: result.data!.uploadImage.byteSize,
          elapsedMs: elapsed,
          rss: {
            idle: mib(idle.rss),
            afterWarmup: mib(warm.rss),
            peakDuringUpload: mib(after.hwm),
            peakSampled10ms: mib(sampledPeak),
            afterUpload: mib(after.rss),
            costOfUpload: mib(after.hwm - Math.max(warm.hwm, warm.rss)),
            costOfUploadBytes: after.hwm - Math.max(warm.hwm, warm.rss),
          },
        },
        null,
        2,
      ),
    );
    await graphql(
      url,
      'mutation($id: ID!) { deleteImage(id: $id) }',
      { id: result.data!.uploadImage.id },
      token,
    );
  } finally {
    child.kill('SIGTERM');
    worker.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
