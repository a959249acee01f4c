import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readWorkingTreeSdl } from './compose';
import { checkSchemaChange, formatReport, readSdlAtRef, resolveBase } from './schema-check';

describe('schema check', () => {
  const current = readWorkingTreeSdl();

  it('finds no changes between identical schemas', async () => {
    const report = await checkSchemaChange(current, current);
    expect(report).toEqual({ breaking: [], dangerous: [], safe: [] });
  });

  it('classifies a removed field as breaking and an added one as safe', async () => {
    const base = {
      ...current,
      auth: current.auth!.replace(
        'type User @key(fields: "id") {',
        'type User @key(fields: "id") {\n  nickname: String',
      ),
    };
    const withNewField = { ...current, image: `${current.image}\nextend type Query { ping: String }\n` };
    const report = await checkSchemaChange(base, withNewField);
    expect(report.breaking.map((c) => c.path)).toEqual(['User.nickname']);
    expect(report.safe.map((c) => c.path)).toContain('Query.ping');
    expect(formatReport(report, 'base')).toMatch(/Breaking \(1\):\n {2}- Field 'nickname' .*removed/);
  });

  it('classifies a new default argument value as dangerous', async () => {
    const changed = {
      ...current,
      image: current.image!.replace('myImages(first: Int = 20', 'myImages(first: Int = 10'),
    };
    const report = await checkSchemaChange(current, changed);
    expect(report.breaking).toEqual([]);
    expect(report.dangerous.map((c) => c.path)).toEqual(['Query.myImages.first']);
  });

  it('passes with a note when there is no base', async () => {
    const report = await checkSchemaChange(undefined, current);
    expect(report.noBase).toBeDefined();
    expect(formatReport(report, 'HEAD~1')).toMatch(/Passing/);
  });

  it('fails when the working tree does not compose', async () => {
    await expect(checkSchemaChange(current, { ...current, auth: 'type Query {' })).rejects.toThrow(
      /Composition failed/,
    );
  });

  it('reads schemas from git and reports unknown refs', () => {
    expect(readSdlAtRef('no-such-ref-anywhere')).toEqual({
      missing: expect.stringMatching(/does not exist/),
    });
    const head = readSdlAtRef('HEAD');
    expect('sdl' in head && Object.keys(head.sdl).sort()).toEqual(['auth', 'image']);
  });
});

describe('the base the check compares with', () => {
  let repo: string;
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: repo,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    }).trim();
  const commit = (name: string) => {
    writeFileSync(path.join(repo, 'file.txt'), name);
    git('commit', '-qam', name);
    return git('rev-parse', 'HEAD');
  };

  beforeEach(() => {
    repo = mkdtempSync(path.join(tmpdir(), 'imagehub-schema-base-'));
    git('init', '-q', '-b', 'main');
    writeFileSync(path.join(repo, 'file.txt'), 'start');
    git('add', 'file.txt');
    git('commit', '-qm', 'start');
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it('is where a branch left main, however many commits follow a breaking one', () => {
    const forkPoint = commit('main 1');
    git('checkout', '-qb', 'feature');
    commit('breaking change');
    commit('any other commit');
    git('checkout', '-q', 'main');
    commit('main moves on');
    git('checkout', '-q', 'feature');
    expect(resolveBase(undefined, repo)).toEqual({ ref: forkPoint, why: 'merge base of HEAD and main' });
  });

  it('prefers origin/main to a local main', () => {
    const published = commit('published');
    git('update-ref', 'refs/remotes/origin/main', published);
    commit('local main, not pushed');
    git('checkout', '-qb', 'feature');
    commit('feature');
    expect(resolveBase(undefined, repo)).toEqual({
      ref: published,
      why: 'merge base of HEAD and origin/main',
    });
  });

  it("is the given commit (the push's `before`) when it exists", () => {
    const before = commit('before the push');
    commit('pushed');
    expect(resolveBase(before, repo)).toEqual({ ref: before, why: 'as given' });
  });

  it('falls back to HEAD~1 on main itself, in a clone without main, and for an all-zero or unknown `before`', () => {
    commit('one more');
    expect(resolveBase(undefined, repo).ref).toBe('HEAD~1');
    expect(resolveBase('0000000000000000000000000000000000000000', repo).ref).toBe('HEAD~1');
    expect(resolveBase('deadbeefdeadbeefdeadbeefdeadbeefdeadbeef', repo)).toEqual({
      ref: 'HEAD~1',
      why: expect.stringMatching(/deadbeef.* is not a commit here/),
    });
    git('branch', '-qm', 'main', 'lonely-branch');
    expect(resolveBase(undefined, repo).ref).toBe('HEAD~1');
  });
});
