import { execFileSync } from 'node:child_process';
import { type Change, CriticalityLevel, diff } from '@graphql-inspector/core';
import { composeSupergraph, REPO_ROOT, SUBGRAPHS } from './compose';

export interface SchemaCheckReport {
  /** Why there was nothing to compare against (unknown ref, subgraph absent, base did not compose). */
  noBase?: string;
  breaking: Change[];
  dangerous: Change[];
  safe: Change[];
}

/** Reads every subgraph's SDL as of a git ref; undefined with a reason when the ref or a file is missing. */
export function readSdlAtRef(
  ref: string,
  cwd = REPO_ROOT,
): { sdl: Record<string, string> } | { missing: string } {
  const sdl: Record<string, string> = {};
  try {
    execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd, stdio: 'pipe' });
  } catch {
    return { missing: `git ref "${ref}" does not exist` };
  }
  for (const subgraph of SUBGRAPHS) {
    try {
      sdl[subgraph.name] = execFileSync('git', ['show', `${ref}:${subgraph.schemaPath}`], {
        cwd,
        stdio: 'pipe',
        encoding: 'utf8',
      });
    } catch {
      return { missing: `${subgraph.schemaPath} does not exist at ${ref}` };
    }
  }
  return { sdl };
}

/**
 * Compares the client-facing API schemas (federation directives stripped) of two sets of subgraph
 * SDL. Throws when the current one does not compose: that is a failure of its own, not a diff.
 */
export async function checkSchemaChange(
  baseSdl: Record<string, string> | undefined,
  currentSdl: Record<string, string>,
): Promise<SchemaCheckReport> {
  const current = composeSupergraph(currentSdl);
  if (!current.ok)
    throw new Error(`Composition failed:\n${current.errors.map((e) => `  - ${e}`).join('\n')}`);
  const empty = { breaking: [], dangerous: [], safe: [] };
  if (!baseSdl) return { ...empty, noBase: 'no base schema given' };
  const base = composeSupergraph(baseSdl);
  if (!base.ok) return { ...empty, noBase: `the base does not compose (${base.errors[0]})` };
  const changes = await diff(base.apiSchema, current.apiSchema);
  return {
    breaking: changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking),
    dangerous: changes.filter((c) => c.criticality.level === CriticalityLevel.Dangerous),
    safe: changes.filter((c) => c.criticality.level === CriticalityLevel.NonBreaking),
  };
}

export function formatReport(report: SchemaCheckReport, baseLabel: string): string {
  if (report.noBase) return `No base to compare with at ${baseLabel}: ${report.noBase}. Passing.`;
  const section = (title: string, changes: Change[]) =>
    changes.length === 0 ? [] : [`${title} (${changes.length}):`, ...changes.map((c) => `  - ${c.message}`)];
  const lines = [
    ...section('Breaking', report.breaking),
    ...section('Dangerous', report.dangerous),
    ...section('Safe', report.safe),
  ];
  if (lines.length === 0) return `No API schema changes since ${baseLabel}.`;
  return [`API schema changes since ${baseLabel}:`, ...lines].join('\n');
}
