/**
 * The web app when renewing its access token fails for a passing reason, in a real browser
 * (Debian's chromium) against the real gateway and subgraphs: the auth service briefly unavailable
 * (its answer to `refreshToken` replaced by a 503, as a restarting subgraph or a proxy gives it), the
 * refresh throttled (answered TOO_MANY_REQUESTS with a retryAfter, as a rate limit in front of the
 * service gives it: the auth service itself never refuses a valid refresh token for its address's
 * failures), and the connection gone (the refresh aborted) across a reload. Each time the person stays
 * signed in: the refresh token stays in localStorage, the screen says what failed and that it is
 * worth another try, and a later action renews the session and works. Only a refused refresh token
 * ends a session (web-account.test.ts and web-app.test.ts go through those).
 *
 * Needs /usr/bin/chromium (scripts/install-chromium.sh), like web-app.test.ts beside it.
 */
import { randomUUID } from 'node:crypto';
import type { Page, Request, Route } from 'playwright-core';
import type { RunningSystem } from '../../gateway/src/test-support/system';
import { type OriginBoundBrowser, openOriginBoundBrowser, startWebAppSystem } from './browser';
import { DESKTOP } from './screens';

const PASSWORD = 'four sunny meadows hum';
/** Seconds: the app renews 5 s before the end, so after 1 s its token is stale to it. */
const ACCESS_TOKEN_TTL = 6;
/** Seconds after which the server refuses the token as expired: its lifetime, the verifiers' 5 s of clock tolerance, and one. */
const REFUSED_AFTER = ACCESS_TOKEN_TTL + 5 + 1;
/** Seconds the throttled refresh asks the app to wait. */
const RETRY_AFTER = 3;
const REFRESH_KEY = 'imagehub.refreshToken';

jest.setTimeout(180_000);

let system: RunningSystem;
let browser: OriginBoundBrowser;

beforeAll(async () => {
  system = await startWebAppSystem({ authEnv: { ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) } });
  browser = await openOriginBoundBrowser(system.gatewayUrl);
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

const isRefresh = (request: Request) => request.postData()?.includes('mutation Refresh') ?? false;

/** "Me→TOKEN_EXPIRED", "Refresh→SERVICE_UNAVAILABLE", "Me→ok", "Refresh→failed": what the page sent and got. */
function recordOperations(page: Page): string[] {
  const operations: string[] = [];
  const name = (request: Request) => {
    const body = request.postData() ?? '';
    return body.match(/(?:query|mutation) (\w+)/)?.[1] ?? '?';
  };
  page.on('requestfinished', async (request) => {
    if (!request.url().endsWith('/graphql')) return;
    const response = await request.response();
    const body = (await response?.json().catch(() => undefined)) as
      | { errors?: { extensions?: { code?: string; reason?: string } }[] }
      | undefined;
    const error = body?.errors?.[0]?.extensions;
    operations.push(`${name(request)}→${error ? (error.reason ?? error.code) : 'ok'}`);
  });
  page.on('requestfailed', (request) => {
    if (request.url().endsWith('/graphql')) operations.push(`${name(request)}→failed`);
  });
  return operations;
}

/**
 * Sets the page's clock `seconds` behind the real one (0: right again; a reload also resets it), as
 * a device's clock can be: the app then still takes an access token for fresh that the server
 * already refuses as expired, and learns it from TOKEN_EXPIRED, as in the report.
 */
async function clockBehind(page: Page, seconds: number): Promise<void> {
  await page.evaluate((ms) => {
    (globalThis as unknown as { clockBehindMs: number }).clockBehindMs = ms;
  }, seconds * 1000);
}

/** One test's page (a new tab, after whoever an earlier test signed in is forgotten), signed up anew. */
async function signedUp() {
  const page = await browser.context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.addInitScript(() => {
    const scope = globalThis as unknown as { clockBehindMs: number };
    scope.clockBehindMs = 0;
    const now = Date.now.bind(Date);
    Date.now = () => now() - scope.clockBehindMs;
  });
  await page.setViewportSize(DESKTOP);
  const operations = recordOperations(page);
  const heading = (name: string) => page.getByRole('heading', { level: 1, name });
  const storedRefreshToken = () => page.evaluate((key) => localStorage.getItem(key), REFRESH_KEY);
  const alert = page.locator('.account-cards [role="alert"]');
  const email = `refresh-${randomUUID()}@example.com`;

  // Storage cleared on a page of the origin that runs no app, which could be storing a token.
  await page.goto(`${system.gatewayUrl}/favicon.svg`);
  await page.evaluate(() => localStorage.clear());
  await page.goto(`${system.gatewayUrl}/#/register`);
  await heading('Create your account').waitFor();
  await page.getByLabel('Name').fill('Grace');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await heading('Photos').waitFor();
  await page.getByText('No photos yet').waitFor();

  return {
    page,
    email,
    operations,
    heading,
    storedRefreshToken,
    /** The operations so far but the account screen's session list, which loads after `me` at its own pace. */
    asked: () => operations.filter((operation) => !operation.startsWith('MySessions')),
    /**
     * `asked()` once it holds `count` operations, or one for which `done` holds (or 10 s have
     * passed): an answer is recorded when its body has been read, which can be after the screen
     * already shows it.
     */
    async askedOnce(count: number | ((asked: string[]) => boolean)) {
      const asked = () => operations.filter((operation) => !operation.startsWith('MySessions'));
      const done = typeof count === 'number' ? (list: string[]) => list.length >= count : count;
      for (let waited = 0; !done(asked()) && waited < 10_000; waited += 50) {
        await page.waitForTimeout(50);
      }
      return asked();
    },
    /** Photos, then Account: the account screen asks for `me` anew. */
    async openAccount() {
      await page.getByRole('link', { name: 'Photos' }).click();
      await heading('Photos').waitFor();
      await page.getByRole('link', { name: 'Account' }).click();
      await heading('Account').waitFor();
    },
    /**
     * What the screen says once the action has settled: the account screen's error line or, when the
     * app signed out instead, the sign-in screen's notice and the operations that led there.
     */
    async settled() {
      const signIn = heading('Welcome back');
      await alert.or(signIn).first().waitFor();
      if (await signIn.isVisible()) {
        const notice = page.locator('#auth-notice');
        const says = (await notice.count()) > 0 ? await notice.textContent() : 'no notice';
        return `signed out ("${says}") after ${operations.join(', ')}`;
      }
      return alert.textContent();
    },
    /** Still signed in: no sign-in screen (not even after a moment), the refresh token kept. */
    async stillSignedIn(refreshToken: string | null) {
      await page.waitForTimeout(1_000);
      await expect(heading('Welcome back').count()).resolves.toBe(0);
      await expect(storedRefreshToken()).resolves.toBe(refreshToken);
    },
    async close() {
      await page.close();
      expect(pageErrors).toEqual([]);
      expect(browser.foreignRequests).toEqual([]);
    },
  };
}

it('keeps the session when the refresh meets the auth service unavailable (503), then renews', async () => {
  const app = await signedUp();
  const { page, operations } = app;

  // The report's sequence: the server refuses the access token as expired (the page's clock,
  // behind, still takes it for fresh) and the refresh finds the auth service unavailable.
  await clockBehind(page, 60);
  await page.waitForTimeout(REFUSED_AFTER * 1000);
  const unavailable = async (route: Route) => {
    if (!isRefresh(route.request())) return route.fallback();
    return route.fulfill({
      status: 503,
      contentType: 'application/json',
      body: JSON.stringify({
        errors: [
          {
            message: 'The auth service is unavailable',
            extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'auth' },
          },
        ],
      }),
    });
  };
  await page.route('**/graphql', unavailable);
  const refreshToken = await app.storedRefreshToken();
  expect(refreshToken).toBeTruthy();
  operations.length = 0;
  await page.getByRole('link', { name: 'Account' }).click();
  await expect(app.settled()).resolves.toBe('The service is busy or briefly down. Try again in a moment.');
  await app.stillSignedIn(refreshToken);
  // Not sent again with the expired token: that answer used to end the session.
  expect(await app.askedOnce(2)).toEqual(['Me→TOKEN_EXPIRED', 'Refresh→SERVICE_UNAVAILABLE']);

  // The service is back: the next action renews the session and works.
  await page.unroute('**/graphql', unavailable);
  operations.length = 0;
  await app.openAccount();
  await page.getByText(app.email).waitFor();
  expect(await app.askedOnce(3)).toEqual(['Me→TOKEN_EXPIRED', 'Refresh→ok', 'Me→ok']);
  expect(await app.storedRefreshToken()).not.toBe(refreshToken);
  await app.close();
});

it('keeps the session when the refresh is throttled (TOO_MANY_REQUESTS), says how long, and renews after', async () => {
  const app = await signedUp();
  const { page, operations } = app;

  // The access token stale to the app and refused by the server; the app's first refresh is
  // throttled, as a rate limit in front of the auth service answers it.
  await page.waitForTimeout(REFUSED_AFTER * 1000);
  let throttledOnce = false;
  const throttle = async (route: Route) => {
    if (!isRefresh(route.request()) || throttledOnce) return route.fallback();
    throttledOnce = true;
    return route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        data: null,
        errors: [
          {
            message: 'Too many requests, try again later',
            extensions: { code: 'TOO_MANY_REQUESTS', retryAfter: RETRY_AFTER },
          },
        ],
      }),
    });
  };
  await page.route('**/graphql', throttle);
  const refreshToken = await app.storedRefreshToken();
  operations.length = 0;
  await page.getByRole('link', { name: 'Account' }).click();
  const throttled = (await app.settled()) ?? '';
  expect(throttled).toMatch(/^Too many attempts\. Try again in \d+ seconds?\.$/);
  await app.stillSignedIn(refreshToken);
  // The stale token never went out.
  expect(await app.askedOnce(1)).toEqual(['Refresh→TOO_MANY_REQUESTS']);

  // Asked again within the wait, the app does not send a refresh bound to be refused.
  await app.openAccount();
  await expect(app.settled()).resolves.toMatch(/^Too many attempts\. Try again in \d+ seconds?\.$/);
  expect(app.asked()).toEqual(['Refresh→TOO_MANY_REQUESTS']);

  // After the wait it named, the next action renews the session.
  const wait = Number(throttled.match(/(\d+) second/)![1]);
  expect(wait).toBeLessThanOrEqual(RETRY_AFTER);
  await page.waitForTimeout(wait * 1000 + 500);
  await app.openAccount();
  await page.getByText(app.email).waitFor();
  expect(await app.askedOnce(3)).toEqual(['Refresh→TOO_MANY_REQUESTS', 'Refresh→ok', 'Me→ok']);
  await page.unroute('**/graphql', throttle);
  await app.close();
});

it('keeps the session offline across a reload: the app opens where it was, says so, and carries on online', async () => {
  const app = await signedUp();
  const { page, operations } = app;
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByText(app.email).waitFor();

  // The connection gone for the refresh: the one at start fails, and so does the one `me` waits for.
  const offline = (route: Route) =>
    isRefresh(route.request()) ? route.abort('internetdisconnected') : route.fallback();
  await page.route('**/graphql', offline);
  const refreshToken = await app.storedRefreshToken();
  operations.length = 0;
  await page.reload();
  await expect(app.settled()).resolves.toBe(
    'Could not reach the server. Check your connection and try again.',
  );
  await expect(app.heading('Account').isVisible()).resolves.toBe(true);
  await app.stillSignedIn(refreshToken);
  // Cut off both times; `me` never went out without a token.
  expect(await app.askedOnce(2)).toEqual(['Refresh→failed', 'Refresh→failed']);

  await page.unroute('**/graphql', offline);
  operations.length = 0;
  await app.openAccount();
  await page.getByText(app.email).waitFor();
  // Photos (a new gallery after the reload) and Account both asked, after one refresh.
  const renewed = await app.askedOnce((list) => list.includes('Me→ok'));
  expect(renewed.filter((operation) => operation.startsWith('Refresh'))).toEqual(['Refresh→ok']);
  expect(renewed).toContain('Me→ok');
  await app.close();
});
