/**
 * Hive Gateway, as the bench compares it: one process, the same supergraph and subgraphs,
 * Authorization propagated, and in-flight deduplication off in both directions so that every
 * request is really executed (the bench's users are distinct anyway).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway';

const gateway = createGatewayRuntime({
  supergraph: readFileSync(process.env.SUPERGRAPH_PATH as string, 'utf8'),
  logging: 'error',
  inboundInflightRequestDeduplication: false,
  transportEntries: { '*': { options: { deduplicateInflightRequests: false } } },
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
  },
});

const server = createServer(gateway);
server.listen(Number(process.env.PEER_PORT), '127.0.0.1', () => {
  process.stdout.write(`Hive Gateway at http://127.0.0.1:${process.env.PEER_PORT}/graphql\n`);
});
process.once('SIGTERM', () => {
  server.close();
  void Promise.resolve(gateway.dispose()).then(() => process.exit(0));
});
