import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The client's (the gateway's) source port: equal ports mean a reused keep-alive connection. */
  remotePort: number;
}

/**
 * A transparent HTTP proxy in front of a subgraph that records what arrives, so tests can see
 * exactly which headers and connections the gateway uses towards its subgraphs.
 */
export async function startRecordingProxy(target: string) {
  const targetUrl = new URL(target);
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      remotePort: req.socket.remotePort ?? 0,
    });
    const upstream = http.request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        void pipeline(upstreamRes, res).catch(() => {});
      },
    );
    upstream.on('error', () => res.destroy());
    void pipeline(req, upstream).catch(() => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
