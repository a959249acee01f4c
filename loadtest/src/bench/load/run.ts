import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LoadJob, LoadResult } from './job';

const WORKER = path.join(__dirname, 'worker.ts');

/** The CPUs the load generator is pinned to (`taskset -c`), or undefined when not pinned. */
export function loadGeneratorCpus(env = process.env): string | undefined {
  const wanted = env.BENCH_LOADGEN_CPUS ?? '1';
  if (wanted === '' || wanted === 'none') return undefined;
  const available = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  return available ? wanted : undefined;
}

/** Runs one job in a fresh load-generator process and returns its result. */
export function runLoad(job: LoadJob): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'imagehub-load-'));
  const jobFile = path.join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const nodeArgs = ['--conditions=development', '--import', 'tsx', WORKER, jobFile];
  const cpus = loadGeneratorCpus();
  const [command, args] = cpus
    ? ['taskset', ['-c', cpus, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`load generator for "${job.label}" failed (exit ${code}): ${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last) as LoadResult);
    });
  });
}
