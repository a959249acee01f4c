import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoadJob } from './job';
import { runJob } from './worker';

describe('load generator', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ authorization?: string; body: string }> = [];

  beforeAll(async () => {
    // Answers like a GraphQL server: an error for token "t-bad", shedding for "t-shed".
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push({ authorization: req.headers.authorization, body });
        res.setHeader('content-type', 'application/json');
        if (req.headers.authorization === 'Bearer t-bad') {
          res.end('{"errors":[{"message":"no","extensions":{"code":"UNAUTHENTICATED"}}]}');
        } else if (req.headers.authorization === 'Bearer t-shed') {
          res.end('{"errors":[{"message":"busy","extensions":{"code":"TOO_MANY_REQUESTS","retryAfter":1}}]}');
        } else {
          res.end('{"data":{"me":{"id":"1"}}}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends each request with the next user in turn and judges GraphQL answers by their body', async () => {
    seen.length = 0;
    const tokens = ['t-1', 't-2', 't-bad', 't-shed'];
    const job: LoadJob = {
      label: 'test',
      url,
      connections: 2,
      amount: 40,
      judge: { kind: 'graphql' },
      requests: tokens.map((t) => ({
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
        body: JSON.stringify({ query: '{ me { id } }' }),
      })),
    };
    const result = await runJob(job);
    expect(result.requests).toBe(40);
    expect(result.ok).toBe(20);
    expect(result.failed).toBe(10);
    expect(result.shed).toBe(10);
    // Every success lands in the second it arrived in.
    expect(result.okEachSecond.reduce((a, b) => a + b, 0)).toBe(20);
    expect(result.firstFailure).toContain('UNAUTHENTICATED');
    const counts = new Map<string, number>();
    for (const s of seen) counts.set(s.authorization ?? '', (counts.get(s.authorization ?? '') ?? 0) + 1);
    expect([...counts.values()]).toEqual([10, 10, 10, 10]);
    expect(seen[0]?.body).toBe('{"query":"{ me { id } }"}');
  });

  it('generates distinct multipart uploads with the preflight header', async () => {
    seen.length = 0;
    const result = await runJob({
      label: 'uploads',
      url,
      connections: 1,
      amount: 3,
      judge: { kind: 'graphql' },
      uploads: { path: '/graphql', count: 3, fileBytes: 10_000, tokens: ['t-1'] },
    });
    expect(result.ok).toBe(3);
    expect(new Set(seen.map((s) => s.body)).size).toBe(3);
    expect(seen.every((s) => s.body.includes('name="operations"') && s.body.length > 10_000)).toBe(true);
  });
});
