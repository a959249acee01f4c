/**
 * What the worst legal upload of each accepted format costs the image worker (which decodes since
 * issue 14): for each, a fresh subgraph and worker process (production mode, default limits, this environment's MALLOC_ARENA_MAX and
 * VIPS_CONCURRENCY) gets one small warm-up upload and then the worst input, over HTTP. Reported per
 * format: CPU-seconds of the process for the upload (utime + stime from /proc/<pid>/stat) and the
 * peak resident set above the warm process (VmHWM in /proc/<pid>/status).
 *
 *   DATABASE_URL=postgres://.../a_scratch_database npx tsx --conditions=development subgraph-image/scripts/measure-upload-budget.ts [label filter]
 *
 * Linux only (/proc). "Worst" means the most pixels the format's limit allows, as noise (which
 * compresses worst and costs the encoders most) wherever that fits under MAX_UPLOAD_BYTES.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createDb, freePort, migrateLatest } from '@imagehub/db';
import sharp from 'sharp';
import { manyFrameGif, noiseImage, tinyAvif, tinyWebp } from '../../test/support/decode-bombs';
import { loadConfig } from '../src/config';
import { createTestTokens, graphql, uploadImage } from '../src/test-support';

const defaults = loadConfig({ DATABASE_URL: 'postgres://unused/x', NODE_ENV: 'test', DATA_DIR: '/tmp' });
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** Largest w x h with w:h about 4:3 and w*h <= pixels. */
function dimensions(pixels: number): [number, number] {
  const height = Math.floor(Math.sqrt((pixels * 3) / 4));
  return [Math.floor(pixels / height), height];
}

const worstInputs: { label: string; make: () => Promise<Buffer> }[] = [
  {
    label: `JPEG, ${defaults.maxImagePixels / 1e6} MP of noise (q25 to fit the byte limit)`,
    make: () => noiseImage('jpeg', ...dimensions(defaults.maxImagePixels), { quality: 25 }),
  },
  {
    label: `PNG, ${defaults.maxImagePixels / 1e6} MP (one colour: noise of that size is 120 MB)`,
    make: () => {
      const [width, height] = dimensions(defaults.maxImagePixels);
      return sharp({ create: { width, height, channels: 3, background: '#3a7' } })
        .png()
        .toBuffer();
    },
  },
  {
    label: `WebP, ${defaults.imageBudget.maxWebpPixels / 1e6} MP of noise (q20)`,
    make: () => noiseImage('webp', ...dimensions(defaults.imageBudget.maxWebpPixels), { quality: 20 }),
  },
  {
    label: `AVIF, ${defaults.imageBudget.maxAvifPixels / 1e6} MP of noise (q20)`,
    make: () => noiseImage('avif', ...dimensions(defaults.imageBudget.maxAvifPixels), { quality: 20 }),
  },
  {
    label: 'GIF, 170 frames of 200x200 noise (6.8 MP, about the byte limit)',
    make: () => noiseImage('gif', 200, 200, { frames: 170 }),
  },
  {
    label: `GIF, ${defaults.imageBudget.maxFrames} frames of 1x1`,
    make: async () => manyFrameGif(defaults.imageBudget.maxFrames),
  },
  {
    label: 'animated WebP, 100 frames of 316x316 noise (10 MP)',
    make: () => noiseImage('webp', 316, 316, { frames: 100, quality: 20 }),
  },
  // The bombs of the hardening issue: refused from their headers, so their cost is the refusal's.
  { label: 'bomb: AVIF under 1 kB declaring 6000x6000', make: () => tinyAvif(6000, 6000) },
  { label: 'bomb: GIF of 200,000 frames of 1x1', make: async () => manyFrameGif(200_000) },
  { label: 'bomb: WebP of 8000x5000 in a few kB', make: () => tinyWebp(8000, 5000) },
];

function sample(pid: number): { cpuSec: number; rss: number; hwm: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSec = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  return { cpuSec, rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('service did not become ready');
}

async function measure(databaseUrl: string, label: string, file: Buffer) {
  const tokens = createTestTokens();
  const token = tokens.mint(randomUUID());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const workerPort = await freePort();
  // The decode runs in the worker (issue 14): that is the process measured; the subgraph only reads headers.
  const start = (entry: string) =>
    spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(__dirname, entry)], {
      env: {
        PATH: process.env.PATH,
        ...(process.env.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX } : {}),
        ...(process.env.VIPS_CONCURRENCY ? { VIPS_CONCURRENCY: process.env.VIPS_CONCURRENCY } : {}),
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        DATABASE_URL: databaseUrl,
        IMAGE_PORT: String(port),
        PUBLIC_URL: url,
        URL_SIGNING_KEY: randomBytes(32).toString('base64url'),
        AUTH_PUBLIC_JWKS: JSON.stringify({ keys: tokens.jwks }),
        UPLOAD_QUOTA_BYTES: '0',
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
    const small = await sharp({ create: { width: 64, height: 64, channels: 3, background: 'red' } })
      .avif()
      .toBuffer();
    await uploadImage(url, token, small, 'warmup.avif');
    const warm = sample(pid);
    const started = Date.now();
    const result = await uploadImage<{ uploadImage: { id: string } }>(url, token, file, 'worst');
    const wallSec = (Date.now() - started) / 1000;
    const after = sample(pid);
    if (result.data?.uploadImage) {
      await graphql(
        url,
        'mutation($id: ID!) { deleteImage(id: $id) }',
        { id: result.data.uploadImage.id },
        token,
      );
    }
    return {
      input: label,
      fileKiB: Math.round(file.length / 1024),
      outcome: result.errors ? String(result.errors[0]?.extensions?.code) : 'stored',
      cpuSec: Number((after.cpuSec - warm.cpuSec).toFixed(2)),
      wallSec: Number(wallSec.toFixed(2)),
      warmRssMiB: mib(warm.rss),
      peakRssMiB: mib(after.hwm),
      peakAboveWarmMiB: mib(after.hwm - Math.max(warm.hwm, warm.rss)),
    };
  } finally {
    child.kill('SIGTERM');
    worker.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required');
  const db = createDb({ url: databaseUrl, applicationName: 'measure-upload-budget', poolMax: 1 });
  await migrateLatest(db);
  await db.destroy();
  const rows = [];
  // An optional argument picks the inputs whose label contains it (e.g. `GIF`).
  const only = process.argv[2];
  for (const { label, make } of worstInputs.filter((input) => !only || input.label.includes(only))) {
    const file = await make();
    if (file.length > defaults.maxUploadBytes)
      throw new Error(`${label}: ${file.length} bytes is over the limit`);
    const row = await measure(databaseUrl, label, file);
    console.error(JSON.stringify(row));
    rows.push(row);
  }
  console.log(JSON.stringify(rows, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
