// biome-ignore-all lint/suspicious/noExplicitAny: rendered manifests are untyped YAML, read field by field
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const K8S_DIR = path.join(REPO_ROOT, 'k8s');
export const OVERLAYS = ['pi', 'dev'] as const;

// Loose on purpose: the tests read manifests as data and check what they need field by field.
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: any };
  [k: string]: any;
};

const rendered = new Map<string, K8sObject[]>();

/** `kubectl kustomize <dir>`, parsed, once per directory per test file (renders take ~0.3 s each). */
export function render(relativeDir: string): K8sObject[] {
  const cached = rendered.get(relativeDir);
  if (cached) return cached;
  const out = execFileSync('kubectl', ['kustomize', path.join(K8S_DIR, relativeDir)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const objects = parseAllDocuments(out)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${relativeDir}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject;
    })
    .filter(Boolean);
  rendered.set(relativeDir, objects);
  return objects;
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job'];

export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
}

export function podSpec(workload: K8sObject): any {
  return workload.spec.template.spec;
}

export function allContainers(workload: K8sObject): any[] {
  const spec = podSpec(workload);
  return [...(spec.initContainers ?? []), ...spec.containers];
}

export function podLabels(workload: K8sObject): Record<string, string> {
  return workload.spec.template.metadata?.labels ?? {};
}

export function matches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in the rendered manifests`);
  return found;
}
