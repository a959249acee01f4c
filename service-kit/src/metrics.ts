import type { ApolloServerPlugin } from '@apollo/server';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  operations: Histogram<'operation' | 'type'>;
  errors: Counter<'operation' | 'code'>;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * How often the event-loop lag histogram takes a sample. prom-client's default, 10 ms, wakes every
 * process 100 times a second even when nothing is asked of it: an idle system spent more CPU on
 * those wake-ups (and the garbage they leave) than on anything else it did (issue 17's idle
 * profile). Ten samples a second still catch any stall a person would notice.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export function createMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    operations: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operation latency by operation name',
      labelNames: ['operation', 'type'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'graphql_errors_total',
      help: 'GraphQL errors by extensions.code',
      labelNames: ['operation', 'code'],
      registers: [registry],
    }),
  };
}

/** Operation names are client-chosen; cap their length and charset so they cannot blow up label cardinality. */
function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? name : 'invalid';
}

/** Records latency by operation and errors by code for every GraphQL request. */
export function metricsPlugin(metrics: ServiceMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const stopTimer = metrics.operations.startTimer();
      let operation = 'anonymous';
      let type = 'unknown';
      return {
        async didResolveOperation(ctx) {
          operation = operationLabel(ctx.operationName);
          type = ctx.operation?.operation ?? 'unknown';
        },
        async didEncounterErrors(ctx) {
          for (const error of ctx.errors) {
            const code = String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
            metrics.errors.inc({ operation, code });
          }
        },
        async willSendResponse() {
          stopTimer({ operation, type });
        },
      };
    },
  };
}

/** A gauge whose value is read when /metrics is scraped (a queue length, slots in use). */
export function observedGauge(metrics: ServiceMetrics, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [metrics.registry],
    collect() {
      this.set(read());
    },
  });
}
