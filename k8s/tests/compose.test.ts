// biome-ignore-all lint/suspicious/noExplicitAny: the compose file is untyped YAML, read field by field
/**
 * Offline checks of docker-compose.yml where it must agree with the Kubernetes manifests: the
 * broker (same pinned image and settings file, credentials from .env, nothing published), the
 * image workers (same image and command as the image subgraph's Deployment says), and the order
 * things start in. `npm run test:containers` runs the file for real.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { find, podSpec, REPO_ROOT, render } from './support';

// `merge`: the file shares settings through YAML merge keys (`<<: *hardened`).
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const services: Record<string, any> = compose.services;
const objects = render('overlays/dev');
const manifest = (kind: string, name: string) => podSpec(find(objects, kind, name)).containers[0];
/** The variable of `${NAME:?...}` / `${NAME:?}`: compose refuses to start without it. */
const REQUIRED_VARIABLE = /^\$\{([A-Z_]+):\?[^}]*\}$/;

describe('docker-compose.yml', () => {
  it('runs RabbitMQ from the image the StatefulSet pins, with the same settings file, as its user', () => {
    const rabbitmq = services.rabbitmq;
    const statefulSet = find(objects, 'StatefulSet', 'rabbitmq');
    expect(rabbitmq.image).toBe(manifest('StatefulSet', 'rabbitmq').image);
    const { runAsUser, runAsGroup } = podSpec(statefulSet).securityContext;
    expect(rabbitmq.user).toBe(`${runAsUser}:${runAsGroup}`);
    expect(rabbitmq.read_only).toBe(true);
    expect(rabbitmq.cap_drop).toEqual(['ALL']);
    expect(rabbitmq.volumes).toContain('./k8s/base/rabbitmq.conf:/etc/rabbitmq/conf.d/20-imagehub.conf:ro');
    expect(rabbitmq.volumes).toContain('rabbitmq-data:/var/lib/rabbitmq');
    // The node's name (rabbit@<hostname>) names its data directory: it must survive a new container.
    expect(rabbitmq.hostname).toBe('rabbitmq');
    expect(rabbitmq.healthcheck.test.slice(0, 2)).toEqual(['CMD', 'rabbitmq-diagnostics']);
  });

  it('publishes no RabbitMQ port (the management UI is not even in the image variant)', () => {
    expect(services.rabbitmq.ports).toBeUndefined();
    expect(services.rabbitmq.image).not.toMatch(/management/);
  });

  it('takes the broker password from .env, never from the file itself', () => {
    const env = services.rabbitmq.environment;
    expect(env.RABBITMQ_DEFAULT_USER).toBe('imagehub');
    expect(REQUIRED_VARIABLE.exec(env.RABBITMQ_DEFAULT_PASS)?.[1]).toBe('RABBITMQ_PASSWORD');
    for (const name of ['subgraph-image', 'image-worker']) {
      const url: string = services[name].environment.AMQP_URL;
      const match = /^amqp:\/\/imagehub:(\$\{[^}]+\})@rabbitmq:5672$/.exec(url);
      expect([name, REQUIRED_VARIABLE.exec(match?.[1] ?? '')?.[1]]).toEqual([name, 'RABBITMQ_PASSWORD']);
    }
    expect(services.gateway.environment.AMQP_URL).toBeUndefined();
  });

  it("runs the image workers from the image subgraph's Dockerfile with the command the Deployment runs", () => {
    const worker = services['image-worker'];
    expect(worker.build).toEqual(services['subgraph-image'].build);
    expect(worker.command).toEqual(manifest('Deployment', 'image-worker').command);
    expect(worker.environment.DATABASE_URL).toMatch(/^postgres:\/\/imagehub_image_login:/);
    expect(worker.ports).toBeUndefined();
    expect(worker.read_only).toBe(true);
    expect(worker.healthcheck.test.join(' ')).toContain('/readyz');
  });

  it('starts the publishers and consumers once the broker is healthy and the migrations ran', () => {
    for (const name of ['subgraph-image', 'image-worker']) {
      expect([name, services[name].depends_on]).toEqual([
        name,
        expect.objectContaining({
          rabbitmq: { condition: 'service_healthy' },
          migrations: { condition: 'service_completed_successfully' },
        }),
      ]);
    }
  });

  it("keeps the broker's data in a named volume", () => {
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['postgres-data', 'rabbitmq-data']));
  });
});
