/**
 * Prints the hostile-input table as Markdown, grouped by category, for docs/security.md:
 * `npx tsx --conditions=development test/hostile/list-cases.ts`
 */
import { hostileCases } from './cases';

const byCategory = new Map<string, string[]>();
for (const c of hostileCases) {
  const list = byCategory.get(c.category) ?? [];
  list.push(c.name);
  byCategory.set(c.category, list);
}
const lines = [
  `${hostileCases.length} cases, each also checking that the service still answers and nothing was written:`,
  '',
];
for (const [category, names] of byCategory) {
  lines.push(`- **${category}** (${names.length}): ${names.join('; ')}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
