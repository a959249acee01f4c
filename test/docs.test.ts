/**
 * Docs that stay true: what a newcomer needs stays in the README, every service's README lists every
 * variable its config reads, and every relative link in the docs points at a file that exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES as GATEWAY_VARIABLES } from '../gateway/src/config';
import { CONFIG_VARIABLES as AUTH_VARIABLES } from '../subgraph-auth/src/config';
import { CONFIG_VARIABLES as IMAGE_VARIABLES } from '../subgraph-image/src/config';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('README.md', () => {
  it('keeps the two commands a newcomer needs', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/^npm test\b/m);
  });
});

describe.each([
  ['gateway/README.md', GATEWAY_VARIABLES],
  ['subgraph-auth/README.md', AUTH_VARIABLES],
  ['subgraph-image/README.md', IMAGE_VARIABLES],
])('%s', (file, variables) => {
  it('lists every variable the service reads', () => {
    const readme = read(file);
    expect(variables.length).toBeGreaterThan(5);
    expect(variables.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});

const markdown = [
  'README.md',
  'gateway/README.md',
  'subgraph-auth/README.md',
  'subgraph-image/README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

describe.each(markdown)('%s', (file) => {
  it('links only to files that exist', () => {
    const links = [...read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
    const relative = links.filter((link) => !/^[a-z]+:/.test(link));
    const missing = relative.filter((link) => !existsSync(path.join(ROOT, path.dirname(file), link)));
    expect(missing).toEqual([]);
  });
});

describe('Dockerfiles', () => {
  it('point at docs that exist', () => {
    for (const file of ['db', 'gateway', 'subgraph-auth', 'subgraph-image'].map((w) => `${w}/Dockerfile`)) {
      for (const [, doc] of read(file).matchAll(/see ([\w/.-]+\.md)/g))
        expect(existsSync(path.join(ROOT, doc!))).toBe(true);
    }
  });
});
