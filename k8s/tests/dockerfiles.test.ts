/**
 * The Dockerfiles checked as text, fast and without an engine: each final stage runs as a non-root
 * user, copies only compiled output and production dependencies, and bakes in no secret. Building
 * and running them for real is `npm run test:containers` (test/containers/, in CI); docs/operations.md
 * ("Container images") says what each covers.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './support';

const IMAGES = [
  { dockerfile: 'gateway/Dockerfile', workspace: 'gateway', main: 'gateway/dist/main.js' },
  { dockerfile: 'subgraph-auth/Dockerfile', workspace: 'subgraph-auth', main: 'subgraph-auth/dist/main.js' },
  {
    dockerfile: 'subgraph-image/Dockerfile',
    workspace: 'subgraph-image',
    main: 'subgraph-image/dist/main.js',
  },
  { dockerfile: 'db/Dockerfile', workspace: 'db', main: 'db/dist/cli/migrate.js' },
];

interface Instruction {
  op: string;
  args: string;
}

/** Instructions per stage, with line continuations joined and comments dropped. */
function stages(text: string): { from: string; name?: string; instructions: Instruction[] }[] {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const result: { from: string; name?: string; instructions: Instruction[] }[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const [from, , name] = args.split(/\s+/);
      result.push({ from: from!, name, instructions: [] });
    } else if (result.length > 0) {
      result.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return result;
}

const CREDENTIAL = /pass(word)?|secret|token|private_?key|signing_?key|api_?key|credential/i;

describe.each(IMAGES)('$dockerfile', ({ dockerfile, workspace, main }) => {
  const text = readFileSync(path.join(REPO_ROOT, dockerfile), 'utf8');
  const all = stages(text);
  const final = all.at(-1)!;
  const ops = (op: string) => final.instructions.filter((i) => i.op === op);

  it('builds on a Node LTS base pinned to an exact version', () => {
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    expect(base).toMatch(/^node:(22|24)\.\d+\.\d+-(bookworm|trixie)-slim$/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile build argument, not a JS template
    for (const stage of all) expect(stage.from).toBe('${NODE_IMAGE}');
  });

  it('builds without a registry for its frontend, and without npm looking for updates', () => {
    // `# syntax=` makes BuildKit fetch the Dockerfile frontend from a registry: offline builds fail.
    expect(text).not.toMatch(/^#\s*syntax\s*=/im);
    for (const stage of all.filter((s) =>
      s.instructions.some((i) => i.op === 'RUN' && /\bnpm\b/.test(i.args)),
    )) {
      expect([stage.name, stage.instructions.map((i) => `${i.op} ${i.args}`)]).toEqual([
        stage.name,
        expect.arrayContaining(['ENV NPM_CONFIG_UPDATE_NOTIFIER=false']),
      ]);
    }
  });

  it('runs as a non-root user, by number', () => {
    const user = ops('USER').at(-1)?.args;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user!.split(':')[0])).toBeGreaterThan(0);
    // Nothing after USER switches back.
    const lastUser = final.instructions.map((i) => i.op).lastIndexOf('USER');
    expect(final.instructions.slice(lastUser).filter((i) => i.op === 'RUN')).toEqual([]);
  });

  it('starts the compiled service with node in production mode', () => {
    expect(ops('CMD').at(-1)?.args).toMatch(new RegExp(`^\\["node", "${main}"`));
    expect(ops('ENV').map((i) => i.args)).toContain('NODE_ENV=production');
    const source = main.replace('/dist/', '/src/').replace(/\.js$/, '.ts');
    expect(existsSync(path.join(REPO_ROOT, source))).toBe(true);
  });

  it('copies only compiled output, package manifests and production dependencies into the final stage', () => {
    for (const copy of ops('COPY')) {
      const parts = copy.args.split(/\s+/);
      const fromStage = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      const sources = parts.filter((p) => !p.startsWith('--')).slice(0, -1);
      for (const source of sources) {
        const allowed = fromStage
          ? /^\/app\/[\w-]+\/dist$/.test(source) ||
            (fromStage === 'deps' && /^\/app\/([\w-]+\/)?node_modules$/.test(source))
          : /^[\w-]+\/(package\.json|supergraph\.graphql)$/.test(source);
        expect([copy.args, allowed]).toEqual([copy.args, true]);
      }
    }
    const deps = all.find((s) => s.name === 'deps')!;
    const install = deps.instructions.find((i) => i.op === 'RUN' && i.args.includes('npm ci'))!.args;
    expect(install).toContain('--omit=dev');
    expect(install).toContain(`-w @imagehub/${workspace}`);
    expect(install).toContain('--include-workspace-root=false');
  });

  it('copies every per-workspace node_modules the lockfile has into the final stage', () => {
    // A package npm puts under <workspace>/node_modules (two versions of one package) is missing at
    // run time unless the final stage copies that folder from the deps stage too.
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const workspaces = ops('COPY')
      .map((i) => /^([\w-]+)\/package\.json\s/.exec(i.args)?.[1])
      .filter((dir): dir is string => dir !== undefined);
    expect(workspaces).toContain(workspace);
    const nested = Object.entries(lock.packages)
      .filter(
        ([key, entry]) => !entry.dev && workspaces.some((dir) => key.startsWith(`${dir}/node_modules/`)),
      )
      .map(([key]) => key);
    const copied = ops('COPY')
      .map((i) => /^--from=deps \/app\/([\w-]+)\/node_modules\s/.exec(i.args)?.[1])
      .filter((dir): dir is string => dir !== undefined);
    expect(nested.filter((key) => !copied.some((dir) => key.startsWith(`${dir}/node_modules/`)))).toEqual([]);
  });

  it('never copies the whole build context', () => {
    for (const stage of all) {
      for (const copy of stage.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
        expect(copy.args.split(/\s+/).filter((p) => !p.startsWith('--'))[0]).not.toMatch(/^\.\/?$/);
        expect(copy.op).toBe('COPY');
      }
    }
  });

  it('bakes in no credential', () => {
    for (const stage of all) {
      for (const i of stage.instructions.filter((x) => x.op === 'ENV' || x.op === 'ARG')) {
        expect([i.args, CREDENTIAL.test(i.args)]).toEqual([i.args, false]);
      }
    }
    expect(text).not.toMatch(/-----BEGIN|postgres:\/\/[^\s]*:[^\s]*@/);
  });

  it('copies sources that exist in the repository', () => {
    for (const stage of all) {
      for (const copy of stage.instructions.filter((i) => i.op === 'COPY' && !i.args.includes('--from='))) {
        for (const source of copy.args.split(/\s+/).slice(0, -1)) {
          expect([source, existsSync(path.join(REPO_ROOT, source))]).toEqual([source, true]);
        }
      }
    }
  });
});

describe('.dockerignore', () => {
  const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps local state, keys and secrets out of the build context', () => {
    for (const pattern of [
      '**/node_modules',
      '**/dist',
      '.git',
      '**/.data',
      '**/.env',
      '**/*.pem',
      '**/*.key',
    ]) {
      expect(ignored).toContain(pattern);
    }
  });
});
