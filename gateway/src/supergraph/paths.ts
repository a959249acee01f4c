import path from 'node:path';

/** The repository root, found from this file so the tools work from any working directory. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Where the committed supergraph lives; the gateway loads it at start instead of introspecting. */
export const SUPERGRAPH_PATH = path.join(REPO_ROOT, 'gateway/supergraph.graphql');
