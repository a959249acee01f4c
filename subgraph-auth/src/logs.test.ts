import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testDatabaseUrl } from '@imagehub/db/test-support';
import { postGraphQL } from '@imagehub/test-kit';

/**
 * Runs the real entry point (main.ts) as its own process, the way `npm start` and Kubernetes do,
 * and reads everything it writes: the logs must be JSON, carry request ids, and never contain a
 * password or a token, whatever happens.
 */
const ROOT = path.resolve(__dirname, '..', '..');

let child: ChildProcess;
let output = '';
let dataDir: string;
let baseUrl: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'auth-logs-'));
  child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', 'subgraph-auth/src/main.ts'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        LOG_LEVEL: 'trace',
        DATA_DIR: dataDir,
        DATABASE_URL: testDatabaseUrl(),
        AUTH_PORT: '0',
        AUTH_METRICS_PORT: '0',
        SHUTDOWN_DRAIN_MS: '2000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in time:\n${output}`)), 25_000);
    const check = () => {
      const match = /"port":(\d+)[^\n]*auth subgraph listening/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  baseUrl = `http://127.0.0.1:${port}`;
}, 30_000);

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const graphql = (query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) =>
  postGraphQL<Record<string, Record<string, string>>>(`${baseUrl}/graphql`, query, { variables, headers });

const PAIR = 'accessToken refreshToken user { id }';

describe('logs of the running service', () => {
  it('are JSON lines with request ids and never contain passwords or tokens; SIGTERM shuts down cleanly', async () => {
    const id = randomBytes(6).toString('hex');
    const email = `logged-${id}@example.test`;
    const password = `s3cret-pass-${id}`;
    const secrets: string[] = [password, `wrong-${password}`, `x-${password}`];

    const registered = await graphql(
      `mutation R($n: String!, $e: String!, $p: String!) { register(name: $n, email: $e, password: $p) { ${PAIR} } }`,
      { n: `Logged ${id}`, e: email, p: password },
      { 'x-request-id': `req-register-${id}` },
    );
    const login = await graphql(
      `mutation L($e: String!, $p: String!) { login(email: $e, password: $p) { ${PAIR} } }`,
      { e: email, p: password },
    );
    await graphql('mutation L($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }', {
      e: email,
      p: `wrong-${password}`,
    });
    await graphql(
      'mutation R($n: String!, $e: String!, $p: String!) { register(name: $n, email: $e, password: $p) { accessToken } }',
      { n: 'x', e: `other-${email}`, p: `x-${password}`.slice(0, 5) },
    );
    const refreshed = await graphql(
      `mutation F($t: String!) { refreshToken(refreshToken: $t) { ${PAIR} } }`,
      {
        t: login.data!.login!.refreshToken,
      },
    );
    // Reuse of a rotated token: logged as a warning, still without the token.
    await graphql('mutation F($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', {
      t: login.data!.login!.refreshToken,
    });
    await graphql(
      'query { me { id } }',
      {},
      { authorization: `Bearer ${registered.data!.register!.accessToken}` },
    );
    await graphql('mutation O($t: String!) { logout(refreshToken: $t) }', {
      t: registered.data!.register!.refreshToken,
    });
    for (const payload of [registered.data!.register!, login.data!.login!, refreshed.data!.refreshToken!]) {
      secrets.push(payload.accessToken!, payload.refreshToken!);
      // Any recognisable piece of a JWT (its signature) would be a leak too.
      secrets.push(payload.accessToken!.split('.')[2]!);
    }

    // The gateway polls this once a second: answered, but without an access-log line each time.
    expect((await fetch(`${baseUrl}/revoked-sessions`)).status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    for (const secret of secrets) expect(output).not.toContain(secret);
    const lines = output.trim().split('\n');
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.every((r) => r.service === 'subgraph-auth' && typeof r.level === 'string')).toBe(true);
    expect(records.some((r) => r.msg === 'user registered')).toBe(true);
    expect(records.some((r) => (r.req as { path?: string } | undefined)?.path === '/revoked-sessions')).toBe(
      false,
    );
    expect(records.some((r) => r.msg === 'login failed')).toBe(true);
    expect(records.some((r) => r.msg === 'used refresh token presented again; session revoked')).toBe(true);
    const ofRegister = records.filter(
      (r) => (r.req as { id?: string } | undefined)?.id === `req-register-${id}`,
    );
    // The caller's request id ties the service's own lines to the access log line.
    expect(ofRegister.map((r) => r.msg)).toEqual(['user registered', 'request completed']);
    expect(ofRegister[1]).toMatchObject({
      req: { method: 'POST', path: '/graphql' },
      res: { statusCode: 200 },
    });
    expect(records.at(-1)!.msg).toBe('shut down cleanly');
  });
});
