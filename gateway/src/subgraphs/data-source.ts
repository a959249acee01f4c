import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { codedError, ErrorCode, type Logger } from '@imagehub/service-kit';
import { GraphQLError } from 'graphql';
import type { Dispatcher, Pool } from 'undici';
import type { GatewayMetrics } from '../metrics';
import { UploadRequestError } from '../uploads/multipart';
import { findUploads, PayloadTooLargeError, type StreamedUpload } from '../uploads/upload';
import type { GatewayContext } from './context';

type GatewayGraphQLResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

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

  constructor(private readonly options: SubgraphDataSourceOptions) {
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
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
      const timeout = uploads.length > 0 ? this.options.uploadTimeoutMs : this.options.timeoutMs;
      const response = await this.options.pool.request({
        method: 'POST',
        path: this.path,
        headers,
        body,
        signal: incoming?.clientGone,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const result = await this.readResult(response);
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

  private async readResult(response: Dispatcher.ResponseData): Promise<GatewayGraphQLResponse> {
    const contentType = String(response.headers['content-type'] ?? '');
    if (
      contentType.startsWith('application/json') ||
      contentType.startsWith('application/graphql-response+json')
    ) {
      const result = (await response.body.json()) as GatewayGraphQLResponse;
      // A GraphQL answer (even with a 4xx/5xx status) is passed on as one, errors and partial data alike.
      if (result && typeof result === 'object' && ('data' in result || 'errors' in result)) return result;
    } else {
      await response.body.dump();
    }
    throw codedError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `The ${this.options.name} service answered with HTTP ${response.statusCode} and no GraphQL result`,
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
