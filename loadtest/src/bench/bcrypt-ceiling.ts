/**
 * The machine's bcrypt ceiling, in a process of its own: as many concurrent async compares as
 * there are cores (bcrypt runs them on libuv's thread pool), at the cost the auth subgraph uses,
 * for a fixed time. Prints `{ comparesPerSec, cpuMsPerCompare, cost, concurrency, seconds }` as
 * JSON. The CPU of one compare (all threads of this process, which does nothing else) is what a
 * login cannot do without; the bench compares the rest of a login's CPU with it.
 */
import { availableParallelism } from 'node:os';
import bcrypt from 'bcrypt';

export async function measureBcryptCeiling(cost: number, seconds: number, concurrency: number) {
  const hash = await bcrypt.hash('bench-password-123', cost);
  let compares = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      await bcrypt.compare('bench-password-123', hash);
      compares++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    comparesPerSec: compares / elapsed,
    cpuMsPerCompare: (cpu.user + cpu.system) / 1000 / Math.max(compares, 1),
    cost,
    concurrency,
    seconds: elapsed,
  };
}

if (require.main === module) {
  const cost = Number(process.argv[2] ?? 10);
  const seconds = Number(process.argv[3] ?? 5);
  const concurrency = Number(process.argv[4] ?? availableParallelism());
  measureBcryptCeiling(cost, seconds, concurrency).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
