import { createMetrics, type ServiceMetrics } from '@imagehub/service-kit';
import { Counter, Histogram } from 'prom-client';

export interface GatewayMetrics extends ServiceMetrics {
  subgraphFetchDuration: Histogram<'subgraph' | 'outcome'>;
  /** Entity fetches answered from what the same request already learnt (subgraphs/entity-memo.ts). */
  subgraphFetchesSaved: Counter<'subgraph'>;
  uploadBytes: Counter<string>;
  uploads: Counter<'outcome'>;
  imageProxyDuration: Histogram<'status'>;
}

export function createGatewayMetrics(): GatewayMetrics {
  const base = createMetrics('gateway');
  return {
    ...base,
    subgraphFetchDuration: new Histogram({
      name: 'gateway_subgraph_fetch_duration_seconds',
      help: 'Latency of GraphQL requests from the gateway to each subgraph, by outcome',
      labelNames: ['subgraph', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [base.registry],
    }),
    subgraphFetchesSaved: new Counter({
      name: 'gateway_subgraph_fetches_saved_total',
      help: 'Entity fetches not sent because the same request had already received every field they ask for',
      labelNames: ['subgraph'],
      registers: [base.registry],
    }),
    uploadBytes: new Counter({
      name: 'gateway_upload_bytes_total',
      help: 'File bytes streamed through the gateway to subgraphs',
      registers: [base.registry],
    }),
    uploads: new Counter({
      name: 'gateway_uploads_total',
      help: 'Multipart uploads received, by how they ended at the gateway',
      labelNames: ['outcome'],
      registers: [base.registry],
    }),
    imageProxyDuration: new Histogram({
      name: 'gateway_image_proxy_duration_seconds',
      help: 'Time to first byte of image responses proxied from the image subgraph, by status',
      labelNames: ['status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [base.registry],
    }),
  };
}
