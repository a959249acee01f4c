// biome-ignore-all lint/suspicious/noExplicitAny: rendered manifests are untyped YAML, read field by field
/**
 * Offline checks of what `kubectl apply -k k8s/overlays/<overlay>` would send to a cluster: every
 * object valid against the Kubernetes API schemas, and the properties a careful operator wants from
 * each pod, Service, policy and budget.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  allContainers,
  find,
  K8S_DIR,
  type K8sObject,
  matches,
  OVERLAYS,
  podLabels,
  podSpec,
  REPO_ROOT,
  render,
  workloads,
} from './support';

const SERVICES = [
  { name: 'gateway', port: 4000, configDir: 'gateway' },
  { name: 'subgraph-auth', port: 4001, configDir: 'subgraph-auth' },
  { name: 'subgraph-image', port: 4002, configDir: 'subgraph-image' },
];
/** The image workers: the image subgraph's container image with the worker's command (issue 14). */
const WORKER = 'image-worker';
/** Every Deployment the autoscalers own. */
const SCALED = [...SERVICES.map((s) => s.name), WORKER];
const MIB = 1024 * 1024;
const CREDENTIAL_NAME = /pass(word)?|secret|token|private_?key|signing_?key|api_?key|credential/i;
const URL_WITH_PASSWORD = /:\/\/[^/\s:@]+:([^@\s]+)@/g;

function validateWithSchema(object: K8sObject): void {
  // kubernetes-models lays its classes out as <apiVersion>/<Kind>, e.g. apps/v1/Deployment.
  const modulePath = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  const Model = require(modulePath)[object.kind];
  new Model(object).validate();
}

/** Env entries with a literal value, from the container and the ConfigMaps it loads. */
function literalEnv(objects: K8sObject[], container: any): [string, string][] {
  const direct: [string, string][] = (container.env ?? [])
    .filter((e: any) => e.value !== undefined)
    .map((e: any) => [e.name, String(e.value)]);
  const fromConfigMaps = (container.envFrom ?? [])
    .filter((source: any) => source.configMapRef)
    .flatMap((source: any) =>
      Object.entries(find(objects, 'ConfigMap', source.configMapRef.name).data ?? {}),
    );
  return [...direct, ...(fromConfigMaps as [string, string][])];
}

function envOf(objects: K8sObject[], container: any): Map<string, string> {
  return new Map(literalEnv(objects, container));
}

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objects = render(`overlays/${overlay}`);
  const pods = workloads(objects);

  it('renders the whole system', () => {
    const names = (kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    expect(names('Namespace')).toEqual(['imagehub']);
    expect(names('Deployment')).toEqual(['gateway', WORKER, 'subgraph-auth', 'subgraph-image']);
    expect(names('StatefulSet')).toEqual(['postgres', 'rabbitmq']);
    expect(names('Job')).toEqual(['migrations']);
    expect(names('Service')).toEqual(['gateway', 'postgres', 'rabbitmq', 'subgraph-auth', 'subgraph-image']);
    expect(names('PodDisruptionBudget')).toEqual(['gateway', WORKER, 'subgraph-auth', 'subgraph-image']);
    expect(names('HorizontalPodAutoscaler')).toEqual(['gateway', WORKER, 'subgraph-auth', 'subgraph-image']);
    expect(names('Ingress')).toEqual(['gateway']);
    for (const stateful of ['postgres', 'rabbitmq']) {
      expect(find(objects, 'Service', stateful).spec.clusterIP).toBe('None');
      expect(find(objects, 'StatefulSet', stateful).spec.volumeClaimTemplates[0].spec.accessModes).toEqual([
        'ReadWriteOnce',
      ]);
    }
  });

  it('validates every object against the Kubernetes API schemas', () => {
    for (const object of objects) {
      expect(() => validateWithSchema(object)).not.toThrow();
    }
  });

  it('puts every namespaced object in the imagehub namespace', () => {
    const clusterScoped = ['Namespace', 'PersistentVolume', 'StorageClass'];
    for (const object of objects.filter((o) => !clusterScoped.includes(o.kind))) {
      expect([object.kind, object.metadata.name, object.metadata.namespace]).toEqual([
        object.kind,
        object.metadata.name,
        'imagehub',
      ]);
    }
  });

  it('runs every pod locked down: non-root, read-only root, no capabilities, no token, seccomp', () => {
    for (const workload of pods) {
      const spec = podSpec(workload);
      const where = `${workload.kind}/${workload.metadata.name}`;
      expect([where, spec.automountServiceAccountToken]).toEqual([where, false]);
      expect([where, spec.securityContext?.runAsNonRoot]).toEqual([where, true]);
      expect([where, spec.securityContext?.seccompProfile?.type]).toEqual([where, 'RuntimeDefault']);
      expect(spec.hostNetwork ?? false).toBe(false);
      expect(spec.hostPID ?? false).toBe(false);
      for (const volume of spec.volumes ?? [])
        expect([where, volume.name, volume.hostPath]).toEqual([where, volume.name, undefined]);
      for (const container of allContainers(workload)) {
        const at = `${where} ${container.name}`;
        const sc = container.securityContext ?? {};
        const uid = sc.runAsUser ?? spec.securityContext.runAsUser;
        expect([at, typeof uid === 'number' && uid > 0]).toEqual([at, true]);
        expect([at, sc.allowPrivilegeEscalation]).toEqual([at, false]);
        expect([at, sc.readOnlyRootFilesystem]).toEqual([at, true]);
        expect([at, sc.capabilities?.drop]).toEqual([at, ['ALL']]);
        expect([at, sc.capabilities?.add]).toEqual([at, undefined]);
        expect([at, sc.privileged ?? false]).toEqual([at, false]);
      }
    }
  });

  it('gives every container CPU and memory requests and limits that fit a Pi', () => {
    const mebibytes = (q: string) => {
      const n = Number.parseFloat(q);
      return q.endsWith('Gi') ? n * 1024 : q.endsWith('Mi') ? n : n / 1024 / 1024;
    };
    for (const workload of pods) {
      for (const container of allContainers(workload)) {
        const at = `${workload.metadata.name} ${container.name}`;
        const { requests, limits } = container.resources ?? {};
        expect([at, Boolean(requests?.cpu && requests?.memory && limits?.cpu && limits?.memory)]).toEqual([
          at,
          true,
        ]);
        expect([at, mebibytes(limits.memory) <= 1024]).toEqual([at, true]);
        expect([at, mebibytes(requests.memory) <= mebibytes(limits.memory)]).toEqual([at, true]);
      }
    }
  });

  it('pins every image by a tag that is not latest', () => {
    for (const container of pods.flatMap(allContainers)) {
      const image: string = container.image;
      const digest = image.includes('@sha256:');
      const tag = image.slice(image.lastIndexOf('/') + 1).split(':')[1];
      expect([image, digest || (tag !== undefined && tag !== 'latest' && tag.length > 0)]).toEqual([
        image,
        true,
      ]);
    }
  });

  it.each(SERVICES)('probes $name on /readyz and /healthz at its port', ({ name, port }) => {
    const container = podSpec(find(objects, 'Deployment', name)).containers[0];
    const named = new Map(container.ports.map((p: any) => [p.name, p.containerPort]));
    const portOf = (probe: any) =>
      typeof probe.httpGet.port === 'number' ? probe.httpGet.port : named.get(probe.httpGet.port);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(portOf(container.readinessProbe)).toBe(port);
    expect(portOf(container.livenessProbe)).toBe(port);
    // The port the service listens on is the one the container declares.
    const env = envOf(objects, container);
    const portVariable = {
      gateway: 'GATEWAY_PORT',
      'subgraph-auth': 'AUTH_PORT',
      'subgraph-image': 'IMAGE_PORT',
    }[name]!;
    expect(env.get(portVariable)).toBe(String(port));
    expect(env.get('NODE_ENV')).toBe('production');
  });

  it('probes Postgres with pg_isready', () => {
    const container = podSpec(find(objects, 'StatefulSet', 'postgres')).containers[0];
    expect(container.readinessProbe.exec.command[0]).toBe('pg_isready');
    expect(container.livenessProbe.exec.command[0]).toBe('pg_isready');
  });

  it('probes RabbitMQ: its AMQP port for readiness, the node itself (rabbitmq-diagnostics) for liveness', () => {
    const container = podSpec(find(objects, 'StatefulSet', 'rabbitmq')).containers[0];
    expect(container.readinessProbe.tcpSocket.port).toBe('amqp');
    expect(container.livenessProbe.exec.command.slice(0, 3)).toEqual(['rabbitmq-diagnostics', '-q', 'ping']);
    // The CLI boots an Erlang VM per call: not every few seconds, and with time to do it on a Pi.
    expect(container.livenessProbe.periodSeconds).toBeGreaterThanOrEqual(30);
    expect(container.livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(10);
  });

  it('runs the official RabbitMQ image, not the management variant, with its data on the volume', () => {
    const statefulSet = find(objects, 'StatefulSet', 'rabbitmq');
    const container = podSpec(statefulSet).containers[0];
    expect(container.image).toMatch(/^rabbitmq:\d+\.\d+\.\d+$/);
    const data = statefulSet.spec.volumeClaimTemplates[0].metadata.name;
    expect(container.volumeMounts.find((m: any) => m.name === data).mountPath).toBe('/var/lib/rabbitmq');
    // Its settings file comes from the ConfigMap generated from k8s/base/rabbitmq.conf.
    const mount = container.volumeMounts.find((m: any) => m.mountPath.startsWith('/etc/rabbitmq/conf.d/'));
    const volume = podSpec(statefulSet).volumes.find((v: any) => v.name === mount.name);
    const conf: string = find(objects, 'ConfigMap', volume.configMap.name).data[mount.subPath];
    expect(conf).toMatch(/^vm_memory_high_watermark\.absolute = \d+MiB$/m);
    expect(conf).toMatch(/^log\.file = false$/m);
  });

  it('gives RabbitMQ, the image subgraph and the workers one broker credential, from the Secret', () => {
    const rabbit = podSpec(find(objects, 'StatefulSet', 'rabbitmq')).containers[0];
    const fromSecret = (container: any, variable: string) =>
      container.env.find((e: any) => e.name === variable)?.valueFrom?.secretKeyRef;
    const credential = { name: 'imagehub-rabbitmq', key: 'rabbitmq-password' };
    expect(fromSecret(rabbit, 'RABBITMQ_DEFAULT_PASS')).toEqual(credential);
    const user = envOf(objects, rabbit).get('RABBITMQ_DEFAULT_USER');
    expect(user).toMatch(/^[a-z]+$/);
    for (const name of ['subgraph-image', WORKER]) {
      const container = podSpec(find(objects, 'Deployment', name)).containers[0];
      expect([name, fromSecret(container, 'AMQP_PASSWORD')]).toEqual([name, credential]);
      expect([name, envOf(objects, container).get('AMQP_URL')]).toEqual([
        name,
        `amqp://${user}:$(AMQP_PASSWORD)@rabbitmq:5672`,
      ]);
      // $(AMQP_PASSWORD) expands only from a variable defined before it.
      const order = container.env.map((e: any) => e.name);
      expect(order.indexOf('AMQP_PASSWORD')).toBeLessThan(order.indexOf('AMQP_URL'));
    }
    const gateway = podSpec(find(objects, 'Deployment', 'gateway')).containers[0];
    expect(envOf(objects, gateway).has('AMQP_URL')).toBe(false);
  });

  it("runs the workers from the image subgraph's image with the worker command, probed on their own port", () => {
    const worker = podSpec(find(objects, 'Deployment', WORKER)).containers[0];
    const api = podSpec(find(objects, 'Deployment', 'subgraph-image')).containers[0];
    expect(worker.image).toBe(api.image);
    expect(worker.command).toEqual(['node', 'subgraph-image/dist/worker/main.js']);
    const named = new Map(worker.ports.map((p: any) => [p.name, p.containerPort]));
    expect(worker.readinessProbe.httpGet.path).toBe('/readyz');
    expect(worker.livenessProbe.httpGet.path).toBe('/healthz');
    expect(named.get(worker.readinessProbe.httpGet.port)).toBe(
      Number(envOf(objects, worker).get('WORKER_PORT')),
    );
    expect(envOf(objects, worker).get('NODE_ENV')).toBe('production');
    expect(find(objects, 'Deployment', WORKER).spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    // A decode in hand may run IMAGE_PROCESSING_TIMEOUT_SEC: the drain waits for it, the grace period for the drain.
    const timeoutSec = Number(envOf(objects, worker).get('IMAGE_PROCESSING_TIMEOUT_SEC'));
    const drainSec = Number(envOf(objects, worker).get('SHUTDOWN_DRAIN_MS')) / 1000;
    expect(drainSec).toBeGreaterThan(timeoutSec);
    expect(podSpec(find(objects, 'Deployment', WORKER)).terminationGracePeriodSeconds).toBeGreaterThan(
      drainSec,
    );
    // No Service: nothing connects to a worker.
    const labels = podLabels(find(objects, 'Deployment', WORKER));
    expect(objects.filter((o) => o.kind === 'Service' && matches(o.spec.selector, labels))).toEqual([]);
  });

  it('checks uploads in the image subgraph against the limits the workers decode under', () => {
    const api = envOf(objects, podSpec(find(objects, 'Deployment', 'subgraph-image')).containers[0]);
    const worker = envOf(objects, podSpec(find(objects, 'Deployment', WORKER)).containers[0]);
    for (const limit of ['MAX_IMAGE_PIXELS', 'MAX_WEBP_PIXELS', 'MAX_AVIF_PIXELS', 'MAX_IMAGE_FRAMES']) {
      expect([limit, api.get(limit)]).toEqual([limit, expect.stringMatching(/^\d+$/)]);
      expect([limit, worker.get(limit)]).toEqual([limit, api.get(limit)]);
    }
  });

  it("sizes the workers' memory limit from the measured per-image budget", () => {
    // subgraph-image/README.md "Upload budget (measured)": the warm process and the peak above it.
    const readme = readFileSync(path.join(REPO_ROOT, 'subgraph-image/README.md'), 'utf8');
    const start = readme.indexOf('## Upload budget');
    const end = readme.indexOf('\n## ', start + 1);
    const budget = readme.slice(start, end < 0 ? undefined : end);
    const warmMiB = Number(/Warm process: \d+-(\d+) MiB/.exec(budget)![1]);
    const peaks = [...budget.matchAll(/^\| [^*|][^|]*\|[^|]*\| \**(\d+) MiB\**/gm)].map((m) => Number(m[1]));
    expect(peaks.length).toBeGreaterThan(3);
    const worstMiB = Math.max(...peaks);
    const worker = podSpec(find(objects, 'Deployment', WORKER)).containers[0];
    const env = envOf(objects, worker);
    const decodesAtOnce = Number(env.get('IMAGE_PROCESSING_CONCURRENCY'));
    const held = Number(env.get('WORKER_PREFETCH'));
    expect(held).toBeGreaterThanOrEqual(decodesAtOnce);
    // The job's bytes: the original, its re-encoded copy and the thumbnail, each at most the upload;
    // a job held for later has its original only.
    const api = podSpec(find(objects, 'Deployment', 'subgraph-image')).containers[0];
    const uploadMiB = Number(envOf(objects, api).get('MAX_UPLOAD_BYTES')) / MIB;
    const needMiB = warmMiB + decodesAtOnce * (worstMiB + 3 * uploadMiB) + (held - decodesAtOnce) * uploadMiB;
    const limit: string = worker.resources.limits.memory;
    const limitMiB = limit.endsWith('Gi') ? Number.parseFloat(limit) * 1024 : Number.parseFloat(limit);
    // Room for fragmentation, yet not so much that a Pi fits fewer workers than it could.
    expect(limitMiB).toBeGreaterThanOrEqual(needMiB * 1.2);
    expect(limitMiB).toBeLessThanOrEqual(needMiB * 1.6);
    // The heap is a small part of it: most of a decode lives outside it, in libvips.
    expect(env.get('NODE_OPTIONS')).toMatch(/--max-old-space-size=(\d+)/);
  });

  it.each(SERVICES)('rolls $name without dropping requests', ({ name }) => {
    const deployment = find(objects, 'Deployment', name);
    const spec = podSpec(deployment);
    const container = spec.containers[0];
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const preStop: string[] = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    const preStopSec = Number(preStop[1]);
    expect(preStopSec).toBeGreaterThan(0);
    // The service drains for SHUTDOWN_DRAIN_MS (10 s when unset) after the preStop pause.
    const drainSec = Number(envOf(objects, container).get('SHUTDOWN_DRAIN_MS') ?? 10_000) / 1000;
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(preStopSec + drainSec);
  });

  it.each(SCALED)('has a disruption budget and an autoscaler on CPU for %s', (name) => {
    const labels = podLabels(find(objects, 'Deployment', name));
    const pdb = find(objects, 'PodDisruptionBudget', name);
    expect(matches(pdb.spec.selector.matchLabels, labels)).toBe(true);
    const hpa = find(objects, 'HorizontalPodAutoscaler', name);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics.map((m: any) => m.resource?.name)).toEqual(['cpu']);
    // The autoscaler owns the count: a `replicas` in the Deployment would reset it on every apply.
    expect(find(objects, 'Deployment', name).spec.replicas).toBeUndefined();
  });

  it('has every Service select the pods of an existing workload, on a port they declare', () => {
    for (const service of objects.filter((o) => o.kind === 'Service')) {
      const selected = pods.filter((w) => matches(service.spec.selector, podLabels(w)));
      expect([service.metadata.name, selected.length]).toEqual([service.metadata.name, 1]);
      const ports = allContainers(selected[0]!).flatMap((c) => c.ports ?? []);
      for (const port of service.spec.ports) {
        const target = port.targetPort ?? port.port;
        const declared = ports.some((p: any) => p.name === target || p.containerPort === target);
        expect([service.metadata.name, target, declared]).toEqual([service.metadata.name, target, true]);
      }
    }
  });

  it('keeps credentials out of ConfigMaps and literal env values', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const configMap of objects.filter((o) => o.kind === 'ConfigMap')) {
      for (const [key, value] of Object.entries<string>(configMap.data ?? {})) {
        // A path to a mounted key file is configuration; the key itself is not.
        if (!key.endsWith('_FILE'))
          expect([configMap.metadata.name, key, CREDENTIAL_NAME.test(key)]).toEqual([
            configMap.metadata.name,
            key,
            false,
          ]);
        expect(value).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
        for (const match of value.matchAll(URL_WITH_PASSWORD)) expect(match[0]).toBe('no password in a URL');
      }
    }
    for (const container of pods.flatMap(allContainers)) {
      for (const entry of container.env ?? []) {
        if (entry.value === undefined) continue;
        const at = `${container.name} ${entry.name}`;
        expect([at, CREDENTIAL_NAME.test(entry.name)]).toEqual([at, false]);
        // A connection URL may only take its password from another variable, e.g. $(DB_PASSWORD).
        for (const match of String(entry.value).matchAll(URL_WITH_PASSWORD)) {
          expect([at, match[1]]).toEqual([at, expect.stringMatching(/^\$\([A-Z_]+\)$/)]);
        }
      }
    }
  });

  it('takes every credential from a Secret that the setup script creates', () => {
    const script = readFileSync(path.join(K8S_DIR, 'create-secrets.sh'), 'utf8');
    const refs = new Set<string>();
    for (const workload of pods) {
      for (const container of allContainers(workload)) {
        for (const entry of container.env ?? []) {
          const ref = entry.valueFrom?.secretKeyRef;
          if (ref) refs.add(`${ref.name} ${ref.key}`);
        }
      }
      for (const volume of podSpec(workload).volumes ?? []) {
        for (const item of volume.secret?.items ?? []) refs.add(`${volume.secret.secretName} ${item.key}`);
      }
    }
    expect(refs.size).toBeGreaterThanOrEqual(7);
    for (const ref of refs) {
      const [name, key] = ref.split(' ');
      expect([ref, script.includes(`secret generic ${name}`) && script.includes(`${key}=`)]).toEqual([
        ref,
        true,
      ]);
    }
  });

  it('only sets variables that the services read from their environment', () => {
    // Read by the runtime rather than by src/config.ts.
    const runtime = new Set(['NODE_OPTIONS', 'VIPS_CONCURRENCY', 'MALLOC_ARENA_MAX']);
    // The workers read the image subgraph's config.ts (loadWorkerConfig).
    for (const { name, configDir } of [...SERVICES, { name: WORKER, configDir: 'subgraph-image' }]) {
      const source = readFileSync(path.join(REPO_ROOT, configDir, 'src/config.ts'), 'utf8');
      const read = new Set([...source.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]));
      const container = podSpec(find(objects, 'Deployment', name)).containers[0];
      const set = [...envOf(objects, container).keys(), ...(container.env ?? []).map((e: any) => e.name)];
      for (const variable of set) {
        // Only there to build DATABASE_URL / AMQP_URL from a Secret with $(…).
        if (runtime.has(variable) || variable === 'DB_PASSWORD' || variable === 'AMQP_PASSWORD') continue;
        expect([name, variable, read.has(variable)]).toEqual([name, variable, true]);
      }
    }
  });

  it('exposes the gateway only: the web app, /graphql and /images, never /metrics or the probes', () => {
    const ingress = find(objects, 'Ingress', 'gateway');
    const paths = ingress.spec.rules.flatMap((r: any) => r.http.paths);
    expect(paths.map((p: any) => p.path).sort()).toEqual([
      '/',
      '/assets',
      '/favicon.svg',
      '/graphql',
      '/images',
    ]);
    expect(paths.find((p: any) => p.path === '/').pathType).toBe('Exact');
    for (const p of paths) expect(p.backend.service.name).toBe('gateway');
    expect(ingress.spec.ingressClassName).toEqual(expect.any(String));
    expect(objects.filter((o) => o.kind === 'Service' && o.spec.type && o.spec.type !== 'ClusterIP')).toEqual(
      [],
    );
  });

  describe('network policies', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const parties = Object.fromEntries(pods.map((w) => [w.metadata.name, podLabels(w)]));
    const portsOf = (name: string): number[] =>
      allContainers(pods.find((w) => w.metadata.name === name)!).flatMap((c) =>
        (c.ports ?? []).map((p: any) => p.containerPort),
      );

    /** Whether a rule's peers and ports let `peerLabels` through on `port` (same namespace only). */
    const ruleAllows = (
      rule: any,
      peers: any[] | undefined,
      peerLabels: Record<string, string>,
      port: number,
    ) => {
      const peerOk =
        peers === undefined ||
        peers.some(
          (peer: any) =>
            !peer.namespaceSelector && !peer.ipBlock && matches(peer.podSelector?.matchLabels, peerLabels),
        );
      const portOk = rule.ports === undefined || rule.ports.some((p: any) => p.port === port);
      return peerOk && portOk;
    };

    /** Traffic flows when an egress policy of the source and an ingress policy of the target both allow it. */
    const allowed = (from: string, to: string, port: number) => {
      const selecting = (labels: Record<string, string>, type: string) =>
        policies.filter(
          (p) => p.spec.policyTypes.includes(type) && matches(p.spec.podSelector.matchLabels, labels),
        );
      const egress = selecting(parties[from]!, 'Egress').some((p) =>
        (p.spec.egress ?? []).some((rule: any) => ruleAllows(rule, rule.to, parties[to]!, port)),
      );
      const ingress = selecting(parties[to]!, 'Ingress').some((p) =>
        (p.spec.ingress ?? []).some((rule: any) => ruleAllows(rule, rule.from, parties[from]!, port)),
      );
      return egress && ingress;
    };

    it('deny everything by default, in both directions', () => {
      const deny = policies.find(
        (p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress,
      );
      expect(deny?.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    });

    it('allow exactly the connections the system needs between its pods', () => {
      const open: string[] = [];
      for (const from of Object.keys(parties)) {
        for (const to of Object.keys(parties)) {
          for (const port of portsOf(to))
            if (from !== to && allowed(from, to, port)) open.push(`${from} -> ${to}:${port}`);
        }
      }
      expect(open.sort()).toEqual(
        [
          'gateway -> subgraph-auth:4001',
          'gateway -> subgraph-image:4002',
          'subgraph-image -> subgraph-auth:4001',
          'subgraph-auth -> postgres:5432',
          'subgraph-image -> postgres:5432',
          `${WORKER} -> postgres:5432`,
          'migrations -> postgres:5432',
          // The services that publish or consume jobs and events; nobody else.
          'subgraph-image -> rabbitmq:5672',
          `${WORKER} -> rabbitmq:5672`,
          'subgraph-auth -> rabbitmq:5672',
        ].sort(),
      );
    });

    it('let RabbitMQ take AMQP only, from the publishers and consumers, and reach nothing but DNS', () => {
      const container = podSpec(find(objects, 'StatefulSet', 'rabbitmq')).containers[0];
      // The management UI (15672), its metrics (15692) and the clustering ports are not declared.
      expect(container.ports.map((p: any) => p.containerPort)).toEqual([5672]);
      expect(find(objects, 'Service', 'rabbitmq').spec.ports.map((p: any) => p.port)).toEqual([5672]);
      for (const service of objects.filter((o) => o.kind === 'Service'))
        for (const p of service.spec.ports)
          expect([service.metadata.name, p.port]).not.toEqual([service.metadata.name, 15672]);
      const own = policies.filter((p) => matches(p.spec.podSelector.matchLabels, parties.rabbitmq!));
      const egress = own
        .filter((p) => p.spec.policyTypes.includes('Egress'))
        .flatMap((p) => p.spec.egress ?? []);
      // The one egress rule any RabbitMQ pod has is the namespace-wide DNS one.
      expect(egress.flatMap((rule: any) => rule.ports.map((p: any) => p.port))).toEqual([53, 53]);
      const ingressPorts = own
        .filter((p) => p.spec.policyTypes.includes('Ingress'))
        .flatMap((p) =>
          (p.spec.ingress ?? []).flatMap((rule: any) => rule.ports.map((port: any) => port.port)),
        );
      expect(ingressPorts).toEqual([5672]);
    });

    it('let the image workers reach Postgres and RabbitMQ only, and take no connections', () => {
      const reached = Object.keys(parties).flatMap((to) =>
        portsOf(to)
          .filter((port) => to !== WORKER && allowed(WORKER, to, port))
          .map((port) => `${to}:${port}`),
      );
      expect(reached.sort()).toEqual(['postgres:5432', 'rabbitmq:5672']);
      const from = Object.keys(parties).filter((f) =>
        portsOf(WORKER).some((port) => allowed(f, WORKER, port)),
      );
      expect(from).toEqual([]);
    });

    it('let the ingress controller reach the gateway, and the monitoring namespace only the metrics ports', () => {
      const fromOtherNamespaces = policies.flatMap((p) =>
        (p.spec.ingress ?? [])
          .filter((rule: any) => (rule.from ?? []).some((peer: any) => peer.namespaceSelector))
          .map((rule: any) => ({
            pods: p.spec.podSelector.matchLabels,
            namespaces: rule.from.map(
              (peer: any) => peer.namespaceSelector.matchLabels['kubernetes.io/metadata.name'],
            ),
            ports: rule.ports.map((port: any) => port.port),
          })),
      );
      expect(fromOtherNamespaces).toEqual([
        {
          pods: { 'app.kubernetes.io/component': 'api' },
          namespaces: ['monitoring'],
          ports: [9400, 9401, 9402],
        },
        { pods: { 'app.kubernetes.io/name': 'gateway' }, namespaces: [expect.any(String)], ports: [4000] },
        { pods: { 'app.kubernetes.io/name': WORKER }, namespaces: ['monitoring'], ports: [9403] },
      ]);
    });

    it.each([...SERVICES, { name: WORKER, port: 4003 }])(
      'serve $name metrics on a port of their own, announced for Prometheus',
      ({ name, port }) => {
        const workload = find(objects, 'Deployment', name);
        const container = podSpec(workload).containers[0];
        const metricsPort = container.ports.find((p: any) => p.name === 'metrics')?.containerPort;
        expect(metricsPort).toBeGreaterThan(0);
        expect(metricsPort).not.toBe(port);
        expect(workload.spec.template.metadata.annotations).toMatchObject({
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(metricsPort),
        });
        const env = envOf(objects, container);
        const variable = {
          gateway: 'GATEWAY',
          'subgraph-auth': 'AUTH',
          'subgraph-image': 'IMAGE',
          [WORKER]: 'WORKER',
        }[name];
        expect(env.get(`${variable}_METRICS_PORT`)).toBe(String(metricsPort));
        // No Service exposes it.
        const services = objects.filter((o) => o.kind === 'Service');
        for (const service of services)
          for (const p of service.spec.ports)
            expect([metricsPort, 'metrics']).not.toContain(p.targetPort ?? p.port);
      },
    );

    it('allow DNS lookups from every pod', () => {
      const dns = policies.find((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.egress);
      const ports = dns?.spec.egress.flatMap((rule: any) =>
        rule.ports.map((p: any) => `${p.protocol}/${p.port}`),
      );
      expect(ports?.sort()).toEqual(['TCP/53', 'UDP/53']);
    });
  });

  it('has the migrations Job connect as the migrator, and each subgraph as its own role', () => {
    const url = (kind: string, name: string) =>
      envOf(
        objects,
        allContainers(find(objects, kind, name)).find((c) => c.name !== 'db-roles'),
      ).get('DATABASE_URL');
    expect(url('Job', 'migrations')).toMatch(/^postgres:\/\/imagehub_migrator:/);
    expect(url('Deployment', 'subgraph-auth')).toMatch(/^postgres:\/\/imagehub_auth_login:/);
    expect(url('Deployment', 'subgraph-image')).toMatch(/^postgres:\/\/imagehub_image_login:/);
    expect(
      envOf(objects, podSpec(find(objects, 'Deployment', 'gateway')).containers[0]).has('DATABASE_URL'),
    ).toBe(false);
  });
});

describe('overlay pi', () => {
  const objects = render('overlays/pi');

  it('schedules every pod on arm64 nodes and uses Traefik', () => {
    for (const workload of workloads(objects)) {
      expect([workload.metadata.name, podSpec(workload).nodeSelector?.['kubernetes.io/arch']]).toEqual([
        workload.metadata.name,
        'arm64',
      ]);
    }
    expect(find(objects, 'Ingress', 'gateway').spec.ingressClassName).toBe('traefik');
  });

  it.each(['postgres', 'rabbitmq'])(
    'keeps %s on a local volume of its own on the SSD of one labelled node',
    (name) => {
      const statefulSet = find(objects, 'StatefulSet', name);
      const claim = statefulSet.spec.volumeClaimTemplates[0];
      const claimName = `${claim.metadata.name}-${name}-0`;
      const volumes = objects.filter(
        (o) => o.kind === 'PersistentVolume' && o.spec.claimRef?.name === claimName,
      );
      expect(volumes.length).toBe(1);
      const volume = volumes[0]!;
      expect(volume.spec.storageClassName).toBe(claim.spec.storageClassName);
      expect(volume.spec.local.path).toBe(`/mnt/ssd/imagehub/${name}`);
      expect(volume.spec.claimRef).toEqual({ namespace: 'imagehub', name: claimName });
      expect(volume.spec.capacity.storage).toBe(claim.spec.resources.requests.storage);
      const term = volume.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0];
      expect(podSpec(statefulSet).nodeSelector[term.key]).toBe(term.values[0]);
      const storageClass = find(objects, 'StorageClass', claim.spec.storageClassName);
      expect(storageClass.volumeBindingMode).toBe('WaitForFirstConsumer');
      expect(volume.spec.persistentVolumeReclaimPolicy).toBe('Retain');
    },
  );
});

describe('the GraphQL IDE', () => {
  const gatewayEnv = (overlay: string) => {
    const objects = render(`overlays/${overlay}`);
    return envOf(objects, podSpec(find(objects, 'Deployment', 'gateway')).containers[0]);
  };

  it('is on in the dev overlay and off (unset, production default) in the pi overlay', () => {
    expect(gatewayEnv('dev').get('GRAPHQL_IDE')).toBe('true');
    expect(gatewayEnv('pi').has('GRAPHQL_IDE')).toBe(false);
  });
});
