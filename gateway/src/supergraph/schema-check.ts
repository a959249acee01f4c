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

const git = (args: string[], cwd: string): string | undefined => {
  try {
    return execFileSync('git', args, { cwd, stdio: 'pipe', encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
};
const commitOf = (ref: string, cwd: string) =>
  git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], cwd);

/** Branches a change is meant to merge into, in the order they are tried. */
export const MAINLINES = ['origin/main', 'main'];

/**
 * What to compare with, the way `rover subgraph check` compares with the published schema: the
 * schema the branch started from, so a breaking change stays visible however many commits follow it.
 * 1. An explicit ref (CI passes the push's `before` commit), when it exists.
 * 2. The merge base of HEAD with the mainline (origin/main, else main), when HEAD is ahead of it.
 * 3. HEAD~1: on the mainline itself, or in a clone that has no mainline (a lone branch, no remote).
 * The reason is part of the answer, for the report.
 */
export function resolveBase(explicit: string | undefined, cwd = REPO_ROOT): { ref: string; why: string } {
  // A push that creates a branch reports an all-zero `before`: there is no previous commit.
  if (explicit && !/^0+$/.test(explicit)) {
    if (commitOf(explicit, cwd)) return { ref: explicit, why: 'as given' };
  }
  const head = commitOf('HEAD', cwd);
  for (const mainline of MAINLINES) {
    if (!head || !commitOf(mainline, cwd)) continue;
    const base = git(['merge-base', 'HEAD', mainline], cwd);
    if (base && base !== head) return { ref: base, why: `merge base of HEAD and ${mainline}` };
  }
  const unusable = explicit ? `${explicit} is not a commit here; ` : '';
  return { ref: 'HEAD~1', why: `${unusable}HEAD is on the mainline or there is none: the previous commit` };
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
