/**
 * `npx tsx loadtest/src/bench/profile-summary.ts <file.cpuprofile> [top]`: the functions with the
 * most self time in a V8 CPU profile (as written by `npm run bench -- --profile DIR`), and the
 * packages they belong to, so a bench figure can be explained by where the CPU went.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summariseProfile(profile: Profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0) || 1;
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const where = frame.url.replace(/^file:\/\//, '');
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
      (where ? where.split('/').slice(-3, -1).join('/') : frame.functionName || '(vm)');
    const key = `${frame.functionName || '(anonymous)'} ${where.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + micros);
    packages.set(pkg, (packages.get(pkg) ?? 0) + micros);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, percent: (100 * micros) / total, ms: micros / 1000 }));
  return { totalMs: total / 1000, functions: rank(functions), packages: rank(packages) };
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const summary = summariseProfile(
    JSON.parse(readFileSync(file, 'utf8')) as Profile,
    Number(process.argv[3] ?? 25),
  );
  console.log(`total ${summary.totalMs.toFixed(0)} ms sampled\n\nby package:`);
  for (const p of summary.packages) console.log(`${p.percent.toFixed(1).padStart(5)}%  ${p.name}`);
  console.log('\nby function (self time):');
  for (const f of summary.functions) console.log(`${f.percent.toFixed(1).padStart(5)}%  ${f.name}`);
}
