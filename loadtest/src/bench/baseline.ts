/**
 * Another commit's services, runnable beside this checkout's within one bench run (`--baseline
 * REF`): the commit's files are exported with `git archive` into a temporary folder (no worktree,
 * nothing in .git changes), given this checkout's installed packages through symlinks except the
 * project's own workspaces (which point at the exported ones), and compiled there when the run
 * uses compiled output. The services then run against this run's database, which this checkout's
 * migrations created: fine for a baseline whose schema is older by additive migrations only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as launcher from '../../../scripts/system';
import { buildServices } from './system';

export interface Baseline {
  ref: string;
  /** The full commit id the ref named when exported. */
  commit: string;
  root: string;
  remove(): void;
}

export function prepareBaseline(ref: string, compiled: boolean): Baseline {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], {
    cwd: launcher.ROOT,
    encoding: 'utf8',
    // git's complaint goes into the error thrown, not onto the terminal.
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
  const root = mkdtempSync(path.join(tmpdir(), 'imagehub-baseline-'));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    execFileSync('sh', ['-c', `git archive --format=tar "$1" | tar -x -C "$2"`, 'sh', commit, root], {
      cwd: launcher.ROOT,
    });
    const workspaces = (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
    ).workspaces;
    // Installed packages from this checkout, but @imagehub/* resolving to the exported workspaces.
    const modules = path.join(root, 'node_modules');
    mkdirSync(path.join(modules, '@imagehub'), { recursive: true });
    for (const entry of readdirSync(path.join(launcher.ROOT, 'node_modules'))) {
      if (entry === '@imagehub') continue;
      symlinkSync(path.join(launcher.ROOT, 'node_modules', entry), path.join(modules, entry));
    }
    for (const workspace of workspaces) {
      const manifest = path.join(root, workspace, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
      symlinkSync(path.join(root, workspace), path.join(modules, name));
      // A workspace's own node_modules (versions that differ from the root's), when it has one.
      const own = path.join(launcher.ROOT, workspace, 'node_modules');
      if (existsSync(own)) symlinkSync(own, path.join(root, workspace, 'node_modules'));
    }
    if (compiled) buildServices(root);
    return { ref, commit, root, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
