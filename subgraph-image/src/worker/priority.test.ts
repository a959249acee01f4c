import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/** Runs test-support/niced-process.ts under `nice -n <start>` and answers what it printed. */
async function run(target: number, start = 0) {
  const { stdout } = await promisify(execFile)(
    'nice',
    [
      '-n',
      String(start),
      process.execPath,
      '--conditions=development',
      '--import',
      'tsx',
      path.join(__dirname, 'test-support', 'niced-process.ts'),
      String(target),
    ],
    { timeout: 30_000 },
  );
  return JSON.parse(stdout) as { result: number; before: number; threads: number; nice: number[] };
}

describe('lowering the worker process CPU priority', () => {
  it('sets every thread, those running already and those started afterwards', async () => {
    const { result, before, threads, nice } = await run(7);
    expect(result).toBe(7);
    // The process had threads of its own (V8, libuv) and started more (libuv's pool, libvips').
    expect(before).toBeGreaterThan(1);
    expect(threads).toBeGreaterThan(before);
    expect(nice).toEqual(Array(threads).fill(7));
  });

  it('never raises a priority that is already lower (no privilege needed)', async () => {
    const { result, nice } = await run(3, 12);
    expect(result).toBe(12);
    expect(new Set(nice)).toEqual(new Set([12]));
  });
});
