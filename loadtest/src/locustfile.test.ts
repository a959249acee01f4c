import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { inspectPng } from '@imagehub/test-kit';
import busboy from 'busboy';

const LOCUST_DIR = path.resolve(__dirname, '../locust');

/**
 * Runs Python against the locustfile with a stub `locust` module, so the file's own helpers are
 * checked on machines without Locust installed (CI); the real run is `npm run loadtest`.
 */
function python(code: string): Buffer {
  const stub = `
import sys, types
locust = types.ModuleType('locust')
class FastHttpUser: pass
locust.FastHttpUser = FastHttpUser
locust.between = lambda a, b: (a, b)
locust.task = lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f))
class _Hook:
    def add_listener(self, f): return f
locust.events = types.SimpleNamespace(init_command_line_parser=_Hook(), init=_Hook())
sys.modules['locust'] = locust
sys.path.insert(0, ${JSON.stringify(LOCUST_DIR)})
import locustfile
`;
  return execFileSync('python3', ['-c', `${stub}\n${code}`], { maxBuffer: 16 * 1024 * 1024 });
}

describe('locustfile.py', () => {
  it('compiles', () => {
    execFileSync('python3', ['-m', 'py_compile', path.join(LOCUST_DIR, 'locustfile.py')]);
  });

  it('defines both user classes, the login-only one without think time', () => {
    const out = python(
      'print(locustfile.JourneyUser.__name__, locustfile.LoginOnlyUser.__name__, locustfile.LoginOnlyUser.wait_time)',
    ).toString();
    expect(out.trim()).toBe('JourneyUser LoginOnlyUser (0, 0)');
  });

  it('generates a valid PNG without PIL', () => {
    const png = python("sys.stdout.buffer.write(locustfile.png_bytes(64, 48, b'seed-bytes'))");
    expect(inspectPng(png)).toEqual({ width: 64, height: 48 });
  });

  it('builds a multipart upload that a spec-following server parses', async () => {
    const out = python(`
import json
body, content_type = locustfile.multipart_upload('a.png', b'PNGDATA')
sys.stdout.write(json.dumps({'body': body.decode('latin1'), 'type': content_type}))
`);
    const { body, type } = JSON.parse(out.toString()) as { body: string; type: string };
    const fields: Record<string, string> = {};
    let file = '';
    await new Promise<void>((resolve, reject) => {
      const parser = busboy({ headers: { 'content-type': type } });
      parser.on('field', (name, value) => {
        fields[name] = value;
      });
      parser.on('file', (_name, stream) => {
        stream.on('data', (chunk: Buffer) => {
          file += chunk.toString('latin1');
        });
      });
      parser.on('close', resolve);
      parser.on('error', reject);
      parser.end(Buffer.from(body, 'latin1'));
    });
    expect(JSON.parse(fields.map as string)).toEqual({ 0: ['variables.file'] });
    expect(JSON.parse(fields.operations as string).variables).toEqual({ file: null });
    expect(file).toBe('PNGDATA');
  });
});
