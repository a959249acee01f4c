// biome-ignore-all lint/suspicious/noExplicitAny: workflow YAML is read as untyped data
/** The GitHub workflows: valid against GitHub's workflow schema, actions pinned, the steps the delivery needs. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { allContainers, podSpec, REPO_ROOT, render, workloads } from './support';

const WORKFLOWS_DIR = path.join(REPO_ROOT, '.github/workflows');
const VALIDATOR = path.join(REPO_ROOT, 'node_modules/.bin/action-validator');
const files = readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
const read = (file: string) => readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8');
const runs = (file: string): string[] =>
  Object.values<any>(parse(read(file)).jobs).flatMap((job) =>
    job.steps.map((s: any) => s.run ?? s.uses ?? ''),
  );

describe('GitHub workflows', () => {
  it('are the three the delivery needs', () => {
    expect(files.sort()).toEqual(['ci.yml', 'deploy.yml', 'images.yml']);
  });

  it.each(files)('%s validates against the GitHub workflow schema', (file) => {
    // action-validator exits non-zero and prints the schema errors when a file is invalid.
    expect(() =>
      execFileSync(VALIDATOR, [path.join(WORKFLOWS_DIR, file)], { encoding: 'utf8' }),
    ).not.toThrow();
  });

  it.each(files)('%s pins every action by version', (file) => {
    const uses = [...read(file).matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]!);
    expect(uses.length).toBeGreaterThan(0);
    for (const action of uses) expect(action).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/);
  });

  it('ci runs .ci/run, which runs install, lint, typecheck, the schema checks and every test against Postgres', () => {
    const workflow = parse(read('ci.yml'));
    expect(Object.values<any>(workflow.jobs)[0].services.postgres.image).toMatch(/^postgres:\d+/);
    expect(runs('ci.yml')).toContain('bash .ci/run');
    const script = readFileSync(path.join(REPO_ROOT, '.ci/run'), 'utf8');
    expect(script).toContain('TEST_DATABASE_URL');
    for (const command of [
      'npm ci',
      'npm run lint',
      'npm run typecheck',
      'npm run compose -- --check',
      'npm run codegen -- --check',
      'npm run schema:check',
      'npm test',
      'npm run test:faults',
      'npm run build',
    ]) {
      expect(script).toContain(command);
    }
  });

  it('images builds and pushes every Dockerfile for amd64, arm64 and arm/v7 with caching and sha/semver tags', () => {
    const workflow = parse(read('images.yml'));
    const job = Object.values<any>(workflow.jobs)[0];
    expect(job.strategy.matrix.include.map((m: any) => m.dockerfile).sort()).toEqual([
      'db/Dockerfile',
      'gateway/Dockerfile',
      'subgraph-auth/Dockerfile',
      'subgraph-image/Dockerfile',
    ]);
    const steps = runs('images.yml').join('\n');
    for (const action of ['setup-qemu-action', 'setup-buildx-action', 'login-action', 'metadata-action']) {
      expect(steps).toContain(action);
    }
    const builds = job.steps.filter((s: any) => String(s.uses).startsWith('docker/build-push-action'));
    expect(builds.map((b: any) => b.with.platforms)).toEqual(['linux/amd64,linux/arm64', 'linux/arm/v7']);
    for (const build of builds) {
      expect(build.with.outputs).toMatch(/push-by-digest=true.*push=true/);
      expect(build.with['cache-from']).toMatch(/^type=gha/);
      expect(build.with['cache-to']).toMatch(/^type=gha/);
    }
    // The 64-bit platforms use the Dockerfiles' Node 24 base; arm/v7 a pinned Node 22 on bookworm.
    expect(builds[0].with['build-args']).toBeUndefined();
    expect(builds[1].with['build-args']).toMatch(/^NODE_IMAGE=node:22\.\d+\.\d+-bookworm-slim$/);
    // Both digests end up under every tag.
    expect(steps).toMatch(
      /imagetools create "\$\{args\[@\]\}" "\$REPOSITORY@\$DIGEST64" "\$REPOSITORY@\$DIGEST32"/,
    );
    const meta = job.steps.find((s: any) => String(s.uses).startsWith('docker/metadata-action'));
    expect(meta.with.tags).toContain('type=sha');
    expect(meta.with.tags).toContain('type=semver');
  });

  it('deploy applies the overlay, waits for the migrations, then every rollout', () => {
    const steps = runs('deploy.yml').join('\n');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JS template
    expect(read('deploy.yml')).toContain('${{ secrets.KUBECONFIG }}');
    expect(steps).toMatch(/kubectl apply -k "\$OVERLAY"/);
    expect(steps).toContain('job migrations');
    expect(steps).toContain('rollout status "$deployment"');
    expect(steps.indexOf('job migrations')).toBeLessThan(steps.indexOf('rollout status "$deployment"'));
  });

  it('deploy applies the image workers only after the migrations, and waits for the broker first', () => {
    const steps = runs('deploy.yml').join('\n');
    const beforeMigrations = /kubectl apply -k "\$OVERLAY" -l '([^']+)'/.exec(steps)?.[1];
    // Workers and the API services read and write the migrated schema: not in the first apply.
    expect(beforeMigrations).toBe('app.kubernetes.io/component notin (api,worker)');
    const components = new Set(
      render('overlays/pi')
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o.metadata.labels['app.kubernetes.io/component']),
    );
    expect([...components].sort()).toEqual(['api', 'worker']);
    expect(steps).toContain('rollout status statefulset/rabbitmq');
  });

  it('deploy refuses to start without any Secret the manifests reference', () => {
    const checked = /for secret in ([^;]+); do/.exec(runs('deploy.yml').join('\n'))![1]!.trim().split(/\s+/);
    const referenced = new Set<string>();
    for (const workload of workloads(render('overlays/pi'))) {
      for (const container of allContainers(workload))
        for (const entry of container.env ?? [])
          if (entry.valueFrom?.secretKeyRef) referenced.add(entry.valueFrom.secretKeyRef.name);
      for (const volume of podSpec(workload).volumes ?? [])
        if (volume.secret) referenced.add(volume.secret.secretName);
    }
    expect(checked.sort()).toEqual([...referenced].sort());
  });
});
