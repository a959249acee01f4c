/** The built web app (web/dist), which the gateway serves at `/`: built once, when missing. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './system';

export const WEB_DIST = path.join(ROOT, 'web/dist');

/** Builds web/dist unless it is there (`npm run build -w @imagehub/web` rebuilds on purpose). */
export function ensureWebBuilt(say: (message: string) => void = () => {}): void {
  if (existsSync(path.join(WEB_DIST, 'index.html'))) return;
  say('building the web app (web/dist)');
  execFileSync('npm', ['run', 'build', '--silent', '-w', '@imagehub/web'], { cwd: ROOT, stdio: 'ignore' });
}
