import { readWorkingTreeSdl } from './compose';
import { checkSchemaChange, formatReport, readSdlAtRef } from './schema-check';

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
