import { existsSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../../scripts/system';
import { prepareBaseline } from './baseline';

describe('a baseline commit for the bench', () => {
  it("exports the commit with this checkout's packages but its own workspaces, and removes it", () => {
    const baseline = prepareBaseline('HEAD', false);
    try {
      expect(baseline.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(existsSync(path.join(baseline.root, 'gateway/src/main.ts'))).toBe(true);
      // Third-party packages are this checkout's...
      expect(realpathSync(path.join(baseline.root, 'node_modules/graphql'))).toBe(
        realpathSync(path.join(ROOT, 'node_modules/graphql')),
      );
      // ...the project's own resolve to the exported copy, not to this checkout.
      const kit = path.join(baseline.root, 'node_modules/@imagehub/service-kit');
      expect(readlinkSync(kit)).toBe(path.join(baseline.root, 'service-kit'));
      expect(realpathSync(kit).startsWith(realpathSync(baseline.root))).toBe(true);
    } finally {
      baseline.remove();
    }
    expect(existsSync(baseline.root)).toBe(false);
  });

  it('refuses a ref that names no commit', () => {
    expect(() => prepareBaseline('no-such-ref-anywhere', false)).toThrow();
  });
});
