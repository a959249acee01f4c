/**
 * How the gateway's requests reach a subgraph: JSON operations over a persistent undici pool,
 * uploads over node:http (see sendUpload for why). Both hand back the same SubgraphAnswer.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import type { Pool } from 'undici';

/** The parts of a subgraph's HTTP answer the gateway looks at, whichever client fetched it. */
export interface SubgraphAnswer {
  statusCode: number;
  contentType: string;
  json(): Promise<unknown>;
  discard(): Promise<void>;
}

/** A GraphQL answer to an upload is a few hundred bytes; anything huge is not one. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export async function sendJson(
  pool: Pool,
  request: {
    path: string;
    headers: Record<string, string>;
    body: string;
    signal?: AbortSignal;
    timeoutMs: number;
  },
): Promise<SubgraphAnswer> {
  const response = await pool.request({
    method: 'POST',
    path: request.path,
    headers: request.headers,
    body: request.body,
    signal: request.signal,
    headersTimeout: request.timeoutMs,
    bodyTimeout: request.timeoutMs,
  });
  return {
    statusCode: response.statusCode,
    contentType: String(response.headers['content-type'] ?? ''),
    json: () => response.body.json(),
    discard: () => response.body.dump(),
  };
}

/**
 * Uploads go over node:http rather than undici: a subgraph may answer before reading the file
 * (no token, too large) and close the connection, and undici then fails the whole request with a
 * socket error while node:http hands over the answer that already arrived.
 */
export function sendUpload(
  agent: http.Agent,
  request: {
    url: string;
    headers: Record<string, string>;
    body: Readable;
    signal?: AbortSignal;
    timeoutMs: number;
  },
): Promise<SubgraphAnswer> {
  const { body } = request;
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = http.request(request.url, {
      method: 'POST',
      headers: request.headers,
      agent,
      signal: request.signal,
      timeout: request.timeoutMs,
    });
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error('The subgraph did not answer the upload in time')),
    );
    outgoing.on('error', (error) => {
      // Once the answer is in, the subgraph closing on the rest of the file is expected.
      if (!answered) reject(error);
    });
    body.on('error', (error) => {
      outgoing.destroy(error);
      reject(error);
    });
    outgoing.on('response', (response) => {
      answered = true;
      // The subgraph has spoken: stop streaming the client's file to it.
      body.unpipe(outgoing);
      body.destroy();
      const chunks: Buffer[] = [];
      let size = 0;
      const text = new Promise<string>((done, failed) => {
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) response.destroy(new Error('Subgraph answer too large'));
          else chunks.push(chunk);
        });
        response.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
        response.on('error', failed);
        response.on('aborted', () => failed(new Error('The subgraph connection closed mid-answer')));
      });
      text.catch(() => {});
      resolve({
        statusCode: response.statusCode ?? 502,
        contentType: String(response.headers['content-type'] ?? ''),
        json: async () => JSON.parse(await text),
        discard: async () => {
          await text.catch(() => {});
        },
      });
    });
    body.pipe(outgoing);
  });
}
