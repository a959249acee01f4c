import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntilAnswers } from './system';

/** A server answering 503 with a body until `ready()` is called, then 200. */
async function server() {
  let ready = false;
  const listening = http.createServer((_req, res) => {
    res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: ready ? 'ok' : 'unavailable' }));
  });
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}/readyz`,
    ready: () => {
      ready = true;
    },
    close: () => new Promise<void>((resolve) => listening.close(() => resolve())),
  };
}

describe('waitUntilAnswers', () => {
  it('gives up naming the latest answer (its status and body), not only the time', async () => {
    const readyz = await server();
    try {
      await expect(waitUntilAnswers(readyz.url, 600)).rejects.toThrow(
        `${readyz.url} answering: not within 600 ms (last error: answered HTTP 503 {"status":"unavailable"})`,
      );
    } finally {
      await readyz.close();
    }
  });

  it('resolves once the answer is 2xx', async () => {
    const readyz = await server();
    try {
      setTimeout(readyz.ready, 300);
      await expect(waitUntilAnswers(readyz.url, 5_000)).resolves.toBeUndefined();
    } finally {
      await readyz.close();
    }
  });
});
