/**
 * For priority.test.ts: lowers its own priority to argv[2] (as worker/main.ts does), then starts
 * threads (libuv's pool, by hashing; libvips', by resizing an image) and prints every thread's nice
 * value as JSON, so the test sees the threads started before and after.
 */
import { pbkdf2, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { lowerCpuPriority, threadIds } from '../priority';

const niceOf = (tid: number) =>
  // Field 19 of /proc/<pid>/task/<tid>/stat; the fields after the command name start at field 3.
  Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);

async function main() {
  const before = threadIds().length;
  const result = lowerCpuPriority(Number(process.argv[2]));
  pbkdf2Sync('x', 'y', 1, 32, 'sha256');
  await Promise.all(Array.from({ length: 4 }, () => promisify(pbkdf2)('x', 'y', 1000, 32, 'sha256')));
  await sharp({ create: { width: 512, height: 512, channels: 3, background: '#808080' } })
    .resize(64)
    .png()
    .toBuffer();
  const tids = threadIds();
  process.stdout.write(
    `${JSON.stringify({ result, before, threads: tids.length, nice: tids.map(niceOf) })}\n`,
  );
}

void main();
