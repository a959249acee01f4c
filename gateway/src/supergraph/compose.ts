import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { type GraphQLSchema, parse } from 'graphql';
import { REPO_ROOT } from './paths';

export { REPO_ROOT, SUPERGRAPH_PATH } from './paths';

export interface SubgraphSource {
  name: string;
  /** Path of the SDL file relative to the repository root. */
  schemaPath: string;
  /** Default routing URL written into the supergraph; the gateway overrides it from its config. */
  routingUrl: string;
}

/** The same inputs as supergraph.yaml (at the repository root), so `rover supergraph compose` gives the same result. */
export const SUBGRAPHS: readonly SubgraphSource[] = [
  {
    name: 'auth',
    schemaPath: 'subgraph-auth/src/schema/schema.graphql',
    routingUrl: 'http://127.0.0.1:4001/graphql',
  },
  {
    name: 'image',
    schemaPath: 'subgraph-image/src/schema/schema.graphql',
    routingUrl: 'http://127.0.0.1:4002/graphql',
  },
];

export type CompositionOutcome =
  | { ok: true; supergraphSdl: string; apiSchema: GraphQLSchema; hints: string[] }
  | { ok: false; errors: string[] };

/** Composes SDL texts keyed by subgraph name; a parse error in one subgraph is reported, not thrown. */
export function composeSupergraph(sdlByName: Record<string, string>): CompositionOutcome {
  const services = [];
  const errors: string[] = [];
  for (const subgraph of SUBGRAPHS) {
    const sdl = sdlByName[subgraph.name];
    if (sdl === undefined) {
      errors.push(`[${subgraph.name}] no schema`);
      continue;
    }
    try {
      services.push({ name: subgraph.name, url: subgraph.routingUrl, typeDefs: parse(sdl) });
    } catch (error) {
      errors.push(`[${subgraph.name}] ${(error as Error).message}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const result = composeServices(services);
  if (result.errors) return { ok: false, errors: result.errors.map((e) => e.message) };
  return {
    ok: true,
    // A trailing newline keeps the committed file friendly to editors and diff tools.
    supergraphSdl: `${result.supergraphSdl.trimEnd()}\n`,
    apiSchema: result.schema.toAPISchema().toGraphQLJSSchema(),
    hints: result.hints.map((hint) => hint.toString()),
  };
}

export function readWorkingTreeSdl(root = REPO_ROOT): Record<string, string> {
  return Object.fromEntries(
    SUBGRAPHS.map((s) => [s.name, readFileSync(path.join(root, s.schemaPath), 'utf8')]),
  );
}
