import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { codedError, ErrorCode, type Logger } from '@imagehub/service-kit';
import { GraphQLError } from 'graphql';
import type { Pool } from 'undici';
import type { GatewayMetrics } from '../metrics';
import {
  findUploads,
  PayloadTooLargeError,
  type StreamedUpload,
  UploadRequestError,
} from '../uploads/upload';
import type { GatewayContext } from './context';

type GatewayGraphQLResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

/** The parts of a subgraph's HTTP answer the gateway looks at, whichever client fetched it. */
interface SubgraphAnswer {
  statusCode: number;
  contentType: string;
  json(): Promise<unknown>;
  discard(): Promise<void>;
}

/** A GraphQL answer to an upload is a few hundred bytes; anything huge is not one. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface SubgraphDataSourceOptions {
  name: string;
  url: string;
  /** Keep-alive connection pool to this subgraph's origin. */
  pool: Pool;
  metrics: GatewayMetrics;
  logger: Logger;
  timeoutMs: number;
  uploadTimeoutMs: number;
}

/**
 * Sends the gateway's subgraph fetches over a persistent undici pool, forwards the client's
 * Authorization / x-request-id / X-Forwarded-For, and turns a fetch whose variables hold a
 * StreamedUpload into a multipart request whose file part is piped from the client as it arrives.
 */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly path: string;
  private readonly uploadAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly options: SubgraphDataSourceOptions) {
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
  }

  /** Releases kept-alive upload sockets (the JSON pool belongs to the caller). */
  close(): void {
    this.uploadAgent.destroy();
  }

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    // Health checks and schema loading carry no client; only incoming operations forward its headers.
    const incoming = 'incomingRequestContext' in options ? options.context : undefined;
    const headers: Record<string, string> = { ...incoming?.forwardHeaders, accept: 'application/json' };
    const payload = {
      query: request.query,
      variables: request.variables,
      operationName: request.operationName,
      ...(request.extensions ? { extensions: request.extensions } : {}),
    };
    const uploads = incoming?.hasUpload ? findUploads(request.variables) : [];
    let body: string | Readable;
    if (uploads.length > 0) {
      const boundary = `----imagehub${randomBytes(12).toString('hex')}`;
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
      // The subgraph keeps its CSRF prevention on: forwarded uploads carry the preflight header.
      headers['apollo-require-preflight'] = 'true';
      body = Readable.from(multipartBody(boundary, payload, uploads), { objectMode: false });
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(payload);
    }

    const stopTimer = this.options.metrics.subgraphFetchDuration.startTimer({ subgraph: this.options.name });
    let outcome = 'error';
    try {
      const answer =
        typeof body === 'string'
          ? await this.sendJson(headers, body, incoming?.clientGone)
          : await this.sendUpload(headers, body, incoming?.clientGone);
      const result = await this.readResult(answer);
      outcome = result.errors ? 'graphql_errors' : 'ok';
      return result;
    } catch (error) {
      const graphqlError = this.toGraphQLError(error, uploads.length > 0, incoming?.clientGone);
      if (graphqlError.extensions.code === ErrorCode.PAYLOAD_TOO_LARGE) outcome = 'too_large';
      throw graphqlError;
    } finally {
      stopTimer({ outcome });
      if (uploads.length > 0) this.options.metrics.uploads.inc({ outcome });
    }
  }

  private async sendJson(
    headers: Record<string, string>,
    body: string,
    signal?: AbortSignal,
  ): Promise<SubgraphAnswer> {
    const response = await this.options.pool.request({
      method: 'POST',
      path: this.path,
      headers,
      body,
      signal,
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
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
  private sendUpload(
    headers: Record<string, string>,
    body: Readable,
    signal?: AbortSignal,
  ): Promise<SubgraphAnswer> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const request = http.request(this.options.url, {
        method: 'POST',
        headers,
        agent: this.uploadAgent,
        signal,
        timeout: this.options.uploadTimeoutMs,
      });
      request.on('timeout', () =>
        request.destroy(new Error('The subgraph did not answer the upload in time')),
      );
      request.on('error', (error) => {
        // Once the answer is in, the subgraph closing on the rest of the file is expected.
        if (!answered) reject(error);
      });
      body.on('error', (error) => {
        request.destroy(error);
        reject(error);
      });
      request.on('response', (response) => {
        answered = true;
        // The subgraph has spoken: stop streaming the client's file to it.
        body.unpipe(request);
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
      body.pipe(request);
    });
  }

  private async readResult(answer: SubgraphAnswer): Promise<GatewayGraphQLResponse> {
    const { contentType } = answer;
    if (
      contentType.startsWith('application/json') ||
      contentType.startsWith('application/graphql-response+json')
    ) {
      const result = (await answer.json()) as GatewayGraphQLResponse;
      // A GraphQL answer (even with a 4xx/5xx status) is passed on as one, errors and partial data alike.
      if (result && typeof result === 'object' && ('data' in result || 'errors' in result)) return result;
    } else {
      await answer.discard();
    }
    throw codedError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `The ${this.options.name} service answered with HTTP ${answer.statusCode} and no GraphQL result`,
    );
  }

  private toGraphQLError(error: unknown, withUpload: boolean, clientGone?: AbortSignal): GraphQLError {
    if (error instanceof GraphQLError) return error;
    // A failed file stream explains itself better than the aborted request it caused.
    const cause = findCause(error);
    if (cause instanceof PayloadTooLargeError) {
      return codedError(ErrorCode.PAYLOAD_TOO_LARGE, cause.message, { field: 'file' });
    }
    if (cause instanceof UploadRequestError) return codedError(cause.code, cause.message, { field: 'file' });
    // A client that went away is not a subgraph failure worth a warning.
    if (!clientGone?.aborted) {
      this.options.logger.warn(
        { err: error, subgraph: this.options.name, withUpload },
        'subgraph request failed',
      );
    }
    return codedError(ErrorCode.SERVICE_UNAVAILABLE, `The ${this.options.name} service is unavailable`, {
      serviceName: this.options.name,
    });
  }
}

function findCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof PayloadTooLargeError || current instanceof UploadRequestError) return current;
    current = current.cause;
  }
  return error;
}

/**
 * The GraphQL multipart request, written as it is sent: the operations and map parts, then the
 * file's bytes as they arrive from the client. Only one chunk of the file is in hand at a time.
 */
async function* multipartBody(
  boundary: string,
  payload: { variables?: Record<string, unknown> } & Record<string, unknown>,
  uploads: { upload: StreamedUpload; path: (string | number)[] }[],
): AsyncGenerator<Buffer> {
  const map: Record<string, string[]> = {};
  uploads.forEach(({ path }, index) => {
    map[String(index)] = [['variables', ...path].join('.')];
  });
  // Files become null in the operations, as the spec says; the map says where they go.
  const operations = JSON.stringify(payload, (_key, value) =>
    uploads.some(({ upload }) => upload === value) ? null : value,
  );
  const crlf = '\r\n';
  yield Buffer.from(
    `--${boundary}${crlf}Content-Disposition: form-data; name="operations"${crlf}Content-Type: application/json${crlf}${crlf}` +
      `${operations}${crlf}--${boundary}${crlf}Content-Disposition: form-data; name="map"${crlf}${crlf}` +
      `${JSON.stringify(map)}${crlf}`,
  );
  for (const [index, { upload }] of uploads.entries()) {
    yield Buffer.from(
      `--${boundary}${crlf}Content-Disposition: form-data; name="${index}"; filename="${headerSafe(upload.filename)}"${crlf}` +
        `Content-Type: ${headerSafe(upload.mimetype) || 'application/octet-stream'}${crlf}${crlf}`,
    );
    const stream = upload.take();
    for await (const chunk of stream) {
      upload.bytesForwarded += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    yield Buffer.from(crlf);
  }
  yield Buffer.from(`--${boundary}--${crlf}`);
}

/** Keeps a client-chosen name from breaking out of its quoted header parameter. */
function headerSafe(value: string): string {
  return value.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c));
}
