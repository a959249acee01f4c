import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { codedError, ErrorCode, type Logger } from '@imagehub/service-kit';
import type { Pool } from 'undici';
import type { GatewayMetrics } from '../metrics';
import { findUploads } from '../uploads/upload';
import type { GatewayContext } from './context';
import { encodeMultipart } from './multipart-body';
import { toSubgraphError } from './subgraph-errors';
import { type SubgraphAnswer, sendJson, sendUpload } from './transport';

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
  /** Sockets for uploads to this subgraph; defaults to 64. */
  uploadSockets?: number;
}

/**
 * Sends the gateway's subgraph fetches over a persistent undici pool, forwards the client's
 * Authorization / x-request-id / X-Forwarded-For, and turns a fetch whose variables hold a
 * StreamedUpload into a multipart request whose file part is piped from the client as it arrives.
 */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly path: string;
  private readonly uploadAgent: http.Agent;

  constructor(private readonly options: SubgraphDataSourceOptions) {
    this.uploadAgent = new http.Agent({ keepAlive: true, maxSockets: options.uploadSockets ?? 64 });
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
    // Only a query's fetches may reuse each other's answers: a mutation's plan may change data between them.
    const memo =
      'incomingRequestContext' in options && options.incomingRequestContext.operation?.operation === 'query'
        ? incoming?.entities
        : undefined;
    const known = memo?.answer(this.options.name, request.query ?? '', request.variables);
    if (known) {
      this.options.metrics.subgraphFetchesSaved.inc({ subgraph: this.options.name });
      return known;
    }
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
      body = Readable.from(encodeMultipart(boundary, payload, uploads), { objectMode: false });
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(payload);
    }

    const stopTimer = this.options.metrics.subgraphFetchDuration.startTimer({ subgraph: this.options.name });
    let outcome = 'error';
    try {
      const signal = incoming?.clientGone;
      const { pool, url, timeoutMs, uploadTimeoutMs } = this.options;
      const answer =
        typeof body === 'string'
          ? await sendJson(pool, { path: this.path, headers, body, signal, timeoutMs })
          : await sendUpload(this.uploadAgent, { url, headers, body, signal, timeoutMs: uploadTimeoutMs });
      const result = await this.readResult(answer);
      outcome = result.errors ? 'graphql_errors' : 'ok';
      memo?.record(this.options.name, request.query ?? '', result);
      return result;
    } catch (error) {
      const graphqlError = toSubgraphError(error, {
        subgraph: this.options.name,
        logger: this.options.logger,
        withUpload: uploads.length > 0,
        clientGone: incoming?.clientGone,
      });
      if (graphqlError.extensions.code === ErrorCode.PAYLOAD_TOO_LARGE) outcome = 'too_large';
      throw graphqlError;
    } finally {
      stopTimer({ outcome });
      if (uploads.length > 0) this.options.metrics.uploads.inc({ outcome });
    }
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
}
