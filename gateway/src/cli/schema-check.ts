/**
 * `npm run schema:check [-- --base <git ref>]`: the offline counterpart of `rover subgraph check`.
 * Composes the API schema at the base (see resolveBase: the given ref, else the merge base with
 * origin/main or main, else HEAD~1) and in the working tree, lists the changes, and exits 1 on
 * breaking ones. No base at all (first commit, shallow clone) is reported and passes.
 */
import { readWorkingTreeSdl } from '../supergraph/compose';
import { checkSchemaChange, formatReport, readSdlAtRef, resolveBase } from '../supergraph/schema-check';

async function main(argv: string[]): Promise<number> {
  const baseIndex = argv.indexOf('--base');
  const given = baseIndex >= 0 ? argv[baseIndex + 1] : undefined;
  if (baseIndex >= 0 && given === undefined) {
    console.error('--base needs a git ref');
    return 2;
  }
  const { ref: base, why } = resolveBase(given);
  console.log(`Comparing with ${base} (${why}).`);
  const atBase = readSdlAtRef(base);
  try {
    const report = await checkSchemaChange('sdl' in atBase ? atBase.sdl : undefined, readWorkingTreeSdl());
    if ('missing' in atBase) report.noBase = atBase.missing;
    console.log(formatReport(report, base));
    if (report.breaking.length > 0) {
      console.error(`\n${report.breaking.length} breaking change(s): failing.`);
      return 1;
    }
    return 0;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
