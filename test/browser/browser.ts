/**
 * Debian's chromium driven by playwright-core, held to one origin: every request elsewhere is
 * aborted and recorded, so a test can assert that a page made none.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@imagehub/service-kit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import {
  type RunningSystem,
  type StartSystemOptions,
  startSystem,
} from '../../gateway/src/test-support/system';
import { ensureWebBuilt, WEB_DIST } from '../../scripts/web-build';

/** Where scripts/install-chromium.sh puts it (Debian's package). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface OriginBoundBrowser {
  page: Page;
  context: BrowserContext;
  /** Every request the page (or its frames and workers) tried to send to another origin. */
  foreignRequests: string[];
  close(): Promise<void>;
}

/**
 * A fresh browser (its own profile) held to `origin`. Two of them are two devices as the server
 * sees them: separate storage, and the `userAgent` each claims.
 */
export async function openOriginBoundBrowser(
  origin: string,
  options: { userAgent?: string } = {},
): Promise<OriginBoundBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'imagehub-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    userAgent: options.userAgent,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-extensions',
      '--no-first-run',
      '--metrics-recording-only',
    ],
  });
  const foreignRequests: string[] = [];
  const allowed = new URL(origin).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === allowed) {
      return route.continue();
    }
    foreignRequests.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('weberror', () => {});
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('websocket', (socket) => {
    if (new URL(socket.url()).host !== new URL(origin).host) foreignRequests.push(socket.url());
  });
  return {
    page,
    context,
    foreignRequests,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The real system with the gateway serving the web app's build (made first when it is missing). */
export async function startWebAppSystem(options: StartSystemOptions = {}): Promise<RunningSystem> {
  ensureWebBuilt();
  return startSystem({
    ...serviceLogs(),
    ...options,
    gatewayEnv: { ...options.gatewayEnv, WEB_DIR: WEB_DIST },
  });
}

/**
 * The services' logs (info and above) in .test-results/web/logs/, one file per test file and service:
 * what a browser saw is then explained by what the servers said (an upload refused, a list stale).
 */
function serviceLogs(): Pick<StartSystemOptions, 'authLogger' | 'imageLogger' | 'gatewayLogger'> {
  const dir = path.resolve(__dirname, '../../.test-results/web/logs');
  mkdirSync(dir, { recursive: true });
  const test = path.basename(expect.getState().testPath ?? 'browser', '.test.ts');
  const logger = (service: string) => createLogger(service, 'info', path.join(dir, `${test}-${service}.log`));
  return { authLogger: logger('auth'), imageLogger: logger('image'), gatewayLogger: logger('gateway') };
}
