/**
 * `npm run compose`: composes the subgraph SDL files into gateway/supergraph.graphql.
 * `npm run compose -- --check`: fails (exit 1) when composition fails or the committed file is stale (CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { composeSupergraph, REPO_ROOT, readWorkingTreeSdl, SUPERGRAPH_PATH } from '../supergraph/compose';

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const outcome = composeSupergraph(readWorkingTreeSdl());
  const target = path.relative(REPO_ROOT, SUPERGRAPH_PATH);
  if (!outcome.ok) {
    console.error(`Composition failed:\n${outcome.errors.map((e) => `  - ${e}`).join('\n')}`);
    return 1;
  }
  for (const hint of outcome.hints) console.warn(`hint: ${hint}`);
  if (check) {
    let committed = '';
    try {
      committed = readFileSync(SUPERGRAPH_PATH, 'utf8');
    } catch {
      // A missing file is simply stale.
    }
    if (committed !== outcome.supergraphSdl) {
      console.error(`${target} is stale: run \`npm run compose\` and commit the result.`);
      return 1;
    }
    console.log(`${target} is up to date.`);
    return 0;
  }
  writeFileSync(SUPERGRAPH_PATH, outcome.supergraphSdl);
  console.log(`Wrote ${target}.`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
