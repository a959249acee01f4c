import { readFileSync } from 'node:fs';
import path from 'node:path';

const SCRIPT = readFileSync(path.resolve(__dirname, '../k6/script.js'), 'utf8');

interface FakeResponse {
  status: number;
  headers: Record<string, string>;
  json(): unknown;
}

interface Call {
  method: string;
  url: string;
  body: unknown;
  params: { headers?: Record<string, string>; tags?: { name?: string } };
}

/**
 * k6 is not installable here, so the script runs in Node with its k6 imports replaced by small
 * fakes: this proves it parses and that one iteration of each scenario makes the calls it should.
 */
function loadScript(env: Record<string, string>) {
  const calls: Call[] = [];
  const checks: Record<string, boolean> = {};
  const answer = (call: Call): FakeResponse => {
    const name = call.params.tags?.name ?? '';
    const ok = (data: unknown): FakeResponse => ({ status: 200, headers: {}, json: () => ({ data }) });
    const payload = { accessToken: 'access', refreshToken: 'refresh' };
    if (name === 'register') return ok({ register: payload });
    if (name === 'login') return ok({ login: payload });
    if (name === 'refreshToken') return ok({ refreshToken: payload });
    if (name === 'me') return ok({ me: { id: '1', name: 'k6', email: 'x' } });
    if (name === 'uploadImage') return ok({ uploadImage: { id: 'img', thumbnailUrl: 'http://h/images/t' } });
    if (name === 'me.images') return ok({ me: { images: { edges: [] } } });
    if (name === 'thumbnail') return { status: 200, headers: { Etag: '"e"' }, json: () => null };
    if (name === 'thumbnail revalidate') return { status: 304, headers: {}, json: () => null };
    throw new Error(`unexpected call ${name}`);
  };
  const http = {
    post: (url: string, body: unknown, params: Call['params']) => {
      const call = { method: 'POST', url, body, params };
      calls.push(call);
      return answer(call);
    },
    get: (url: string, params: Call['params']) => {
      const call = { method: 'GET', url, body: undefined, params };
      calls.push(call);
      return answer(call);
    },
    file: (data: unknown, filename: string, type: string) => ({ data, filename, type }),
  };
  const check = (res: FakeResponse, conditions: Record<string, (r: FakeResponse) => boolean>) => {
    for (const [name, condition] of Object.entries(conditions)) checks[name] = condition(res);
  };
  const encoding = { b64decode: (text: string) => Buffer.from(text, 'base64') };
  const source = SCRIPT.replace(/^import .* from 'k6.*';$/gm, '')
    .replace(/^export const options/m, 'const options')
    .replace(/^export function setup/m, 'function setup')
    .replace(/^export default function/m, 'function iteration');
  expect(source).not.toMatch(/^\s*(import|export)\b/m);
  const factory = new Function(
    'http',
    'check',
    'sleep',
    'encoding',
    '__ENV',
    '__VU',
    '__ITER',
    `${source}\nreturn { options, setup, iteration };`,
  );
  const script = factory(http, check, () => {}, encoding, env, 1, 0) as {
    options: { scenarios: Record<string, { stages: Array<{ target: number }> }> };
    iteration(): void;
  };
  return { script, calls, checks };
}

describe('k6/script.js', () => {
  it('runs one journey iteration: register, login, me, upload, list, thumbnail 200 then 304', () => {
    const { script, calls, checks } = loadScript({ BASE_URL: 'http://gw:4000' });
    script.iteration();
    expect(calls.map((c) => c.params.tags?.name)).toEqual([
      'register',
      'login',
      'me',
      'uploadImage',
      'me.images',
      'thumbnail',
      'thumbnail revalidate',
    ]);
    const upload = calls.find((c) => c.params.tags?.name === 'uploadImage') as Call;
    expect(upload.params.headers?.['Apollo-Require-Preflight']).toBe('true');
    expect(upload.params.headers?.Authorization).toBe('Bearer access');
    expect(upload.url).toBe('http://gw:4000/graphql');
    expect(Object.values(checks).every(Boolean)).toBe(true);
  });

  it('runs the original login-only measurement with 100 users', () => {
    const { script, calls } = loadScript({ SCENARIO: 'login' });
    script.iteration();
    expect(calls.map((c) => c.params.tags?.name)).toEqual(['register', 'login']);
    expect(script.options.scenarios.login?.stages.map((s) => s.target)).toEqual([100, 100]);
  });
});
