import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { composeSupergraph, REPO_ROOT, readWorkingTreeSdl, SUBGRAPHS, SUPERGRAPH_PATH } from './compose';

describe('supergraph composition', () => {
  it('composes the working tree and matches the committed supergraph (run `npm run compose` when this fails)', () => {
    const outcome = composeSupergraph(readWorkingTreeSdl());
    if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
    expect(readFileSync(SUPERGRAPH_PATH, 'utf8')).toBe(outcome.supergraphSdl);
  });

  it('exposes the whole public contract in the API schema', () => {
    const outcome = composeSupergraph(readWorkingTreeSdl());
    if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
    const query = outcome.apiSchema.getQueryType()?.getFields() ?? {};
    const mutation = outcome.apiSchema.getMutationType()?.getFields() ?? {};
    expect(Object.keys(query).sort()).toEqual(['image', 'me', 'myImages', 'mySessions']);
    expect(Object.keys(mutation).sort()).toEqual(
      [
        'changePassword',
        'deleteAccount',
        'deleteImage',
        'login',
        'logout',
        'logoutEverywhere',
        'refreshToken',
        'register',
        'revokeSession',
        'uploadImage',
      ].sort(),
    );
    expect(outcome.apiSchema.getType('_Entity')).toBeUndefined();
  });

  it('reports composition errors instead of producing a supergraph', () => {
    const sdl = readWorkingTreeSdl();
    // Two subgraphs disagreeing on a non-shareable field's type cannot compose.
    const broken = {
      ...sdl,
      image: `${sdl.image}\nextend type Query { me: Int }\n`,
    };
    const outcome = composeSupergraph(broken);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.errors.join('\n')).toMatch(/me/);
  });

  it('reports an unparsable subgraph by name', () => {
    const outcome = composeSupergraph({ ...readWorkingTreeSdl(), auth: 'type Query {' });
    expect(outcome).toEqual({ ok: false, errors: [expect.stringMatching(/^\[auth\] Syntax Error/)] });
  });

  it('keeps supergraph.yaml (for rover) in step with the compose inputs', () => {
    const config = parseYaml(readFileSync(path.join(REPO_ROOT, 'supergraph.yaml'), 'utf8'));
    expect(config.federation_version).toMatch(/^=2\.\d+\.\d+$/);
    for (const subgraph of SUBGRAPHS) {
      expect(config.subgraphs[subgraph.name]).toEqual({
        routing_url: subgraph.routingUrl,
        schema: { file: `./${subgraph.schemaPath}` },
      });
    }
  });
});
