/**
 * The web app (web/) in a real browser (Debian's chromium), served by the real gateway in front of
 * the real subgraphs, held to the gateway's origin: every request elsewhere is blocked and recorded,
 * and there must be none. A person's journey: register, upload three photos (one over the size
 * limit: its error shown, the others stored), scroll the gallery, open a photo, delete it, sign out,
 * sign in, and keep working after the access token expires. One screenshot per screen at phone and
 * desktop size goes to .test-results/web/ (a CI artifact; look at them).
 *
 * Needs /usr/bin/chromium (scripts/install-chromium.sh); jest.config.js leaves this folder out,
 * saying so, on a machine without it. CI installs it and always runs this.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { landscapePng, noisePngOfSize, uploadForm } from '@imagehub/test-kit';
import { gql, type RunningSystem } from '../../gateway/src/test-support/system';
import { WEB_DIST } from '../../scripts/web-build';
import { type OriginBoundBrowser, openOriginBoundBrowser, startWebAppSystem } from './browser';
import { DESKTOP, drop, screenshots, uploadOutcome } from './screens';

const RESULTS = path.resolve(__dirname, '../../.test-results/web');
const MAX_UPLOAD_BYTES = 300_000;
/** Room for the journey's small pictures, not for one more large one. */
const UPLOAD_QUOTA_BYTES = 400_000;
/** Short enough that the journey outlives a token; the app refreshes 5 s before expiry. */
const ACCESS_TOKEN_TTL = 12;
const PASSWORD = 'four sunny meadows hum';

jest.setTimeout(180_000);

let system: RunningSystem;
let browser: OriginBoundBrowser;

beforeAll(async () => {
  system = await startWebAppSystem({
    authEnv: { ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) },
    gatewayEnv: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) },
    imageEnv: {
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      UPLOADS_PER_MINUTE: '1000',
      UPLOAD_QUOTA_BYTES: String(UPLOAD_QUOTA_BYTES),
    },
  });
  browser = await openOriginBoundBrowser(system.gatewayUrl);
  mkdirSync(RESULTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

it('takes a person from a new account through uploads, the gallery, a photo and back, on one origin', async () => {
  const { page, foreignRequests } = browser;
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // A refused upload logs its 413 as a failed resource; what must not appear is a CSP violation.
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
      pageErrors.push(message.text());
  });
  const refreshes: string[] = [];
  page.on('request', (request) => {
    if (request.postData()?.includes('mutation Refresh')) refreshes.push(request.url());
  });
  const heading = (name: string) => page.getByRole('heading', { level: 1, name });
  const shot = screenshots(page, RESULTS);
  await page.setViewportSize(DESKTOP);
  const email = `web-${randomUUID()}@example.com`;

  // Signed out, the app opens on sign-in; the password rules are on the register form up front.
  await page.goto(`${system.gatewayUrl}/`);
  await heading('Welcome back').waitFor();
  await shot('sign-in');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await heading('Create your account').waitFor();
  await expect(page.getByText('At least 8 characters').isVisible()).resolves.toBe(true);
  await page.getByLabel('Name').fill('Grace');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await shot('register');
  await page.getByRole('button', { name: 'Create account' }).click();
  await heading('Photos').waitFor();
  await page.getByText('No photos yet').waitFor();
  await shot('gallery-empty');

  // Three files dropped on the page: two pictures and one over the size limit.
  const files = [
    { name: 'harbour at dawn.png', data: landscapePng(640, 420, 200) },
    { name: 'too-big.png', data: noisePngOfSize(MAX_UPLOAD_BYTES * 2) },
    { name: 'meadow.png', data: landscapePng(480, 640, 95) },
  ].map((file) => ({ name: file.name, base64: file.data.toString('base64') }));
  await drop(page, files);
  const outcome = (name: string) => uploadOutcome(page, name);
  await expect(outcome('harbour at dawn.png')).resolves.toBe('Uploaded');
  await expect(outcome('meadow.png')).resolves.toBe('Uploaded');
  // One sentence, the limit in the page's units (the gateway's refusal says 300000 bytes).
  await expect(outcome('too-big.png')).resolves.toBe('Too large to upload: the limit is 293 KB.');
  await expect(page.locator('.tile').count()).resolves.toBe(2);
  await expect(page.getByRole('img', { name: 'meadow.png' }).isVisible()).resolves.toBe(true);
  await shot('uploads');

  // More photos than one page, through the API, so the gallery has something to scroll through.
  // The API's own token for the test's calls, fetched anew once it is a few seconds old (short TTL).
  let apiToken = { value: '', at: 0 };
  const token = async () => {
    if (Date.now() - apiToken.at > 4_000) {
      const login = await gql<{ login: { accessToken: string } }>(
        system.gatewayUrl,
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
        { variables: { e: email, p: PASSWORD } },
      );
      apiToken = { value: login.data!.login.accessToken, at: Date.now() };
    }
    return apiToken.value;
  };
  for (let i = 0; i < 25; i++) {
    const form = uploadForm(
      'mutation($file: Upload!) { uploadImage(file: $file) { id } }',
      landscapePng(192, 128, (i * 37) % 360),
      `trip ${String(i + 1).padStart(2, '0')}.png`,
      'image/png',
    );
    const response = await fetch(`${system.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token()}`, 'apollo-require-preflight': 'true' },
      body: form,
    });
    expect(response.status).toBe(200);
    // Stored, or the test says why not (a 200 can carry a GraphQL error).
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
  }

  const pages: { first: number; after: string | null }[] = [];
  page.on('request', (request) => {
    if (!request.url().endsWith('/graphql') || !request.postData()?.includes('query MyImages')) return;
    const body = request.postDataJSON() as { operationName?: string; variables?: Record<string, unknown> };
    if (body.operationName === 'MyImages') {
      pages.push(body.variables as { first: number; after: string | null });
    }
  });
  // A reload keeps the person signed in (refresh token), and the gallery pages in as it scrolls.
  await page.reload();
  await heading('Photos').waitFor();
  await page.getByText('27 photos').waitFor();
  // The first page is 24; the next comes as the end of the grid nears (it may already be near).
  expect(pages[0]).toEqual({ first: 24, after: null });
  await page.locator('.tile').last().scrollIntoViewIfNeeded();
  await page.mouse.wheel(0, 5000);
  await page.getByText('That’s all your photos.').waitFor();
  await expect(page.locator('.tile').count()).resolves.toBe(27);
  expect(pages).toEqual([
    { first: 24, after: null },
    { first: 24, after: expect.any(String) },
  ]);
  // Newest first: the last API upload leads, the browser's two uploads come last.
  await expect(page.locator('.tile img').first().getAttribute('alt')).resolves.toBe('trip 25.png');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('gallery');

  // Within the size limit but past the storage quota: the tray says so, with the figures.
  await drop(page, [
    { name: 'panorama.png', base64: noisePngOfSize(MAX_UPLOAD_BYTES - 20_000).toString('base64') },
  ]);
  await expect(outcome('panorama.png')).resolves.toMatch(
    /^Not enough storage left for this photo \(.+ of 391 KB used\)\. Delete some photos to make room\.$/,
  );
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('gallery-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // One photo, its details, and delete after a confirmation.
  await page.getByRole('link', { name: 'trip 25.png' }).click();
  await heading('trip 25.png').waitFor();
  await page.getByText('192 × 128 px').waitFor();
  await expect(
    page
      .locator('.photo-frame img')
      .evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth)),
  ).resolves.toBe(192);
  await shot('photo');
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: 'Delete this photo?' }).waitFor();
  await shot('photo-delete');
  await page.getByRole('button', { name: 'Delete photo' }).click();
  await heading('Photos').waitFor();
  await page.getByText('26 photos').waitFor();
  await expect(page.getByRole('link', { name: 'trip 25.png' }).count()).resolves.toBe(0);
  const remaining = await gql<{ myImages: { totalCount: number } }>(
    system.gatewayUrl,
    '{ myImages { totalCount } }',
    {
      token: await token(),
    },
  );
  expect(remaining.data?.myImages.totalCount).toBe(26);

  // The account, then sign out: the refresh token leaves the browser.
  await page.getByRole('link', { name: 'Account' }).click();
  await heading('Account').waitFor();
  await page.getByText(email).waitFor();
  await page.getByText(/^.+ of 391 KB used by 26 photos$/).waitFor();
  await shot('account');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await heading('Welcome back').waitFor();
  await expect(page.evaluate(() => localStorage.length)).resolves.toBe(0);

  // Signing in again.
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Wrong email or password.').waitFor();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading('Photos').waitFor();
  await page.getByText('26 photos').waitFor();

  // Past the access token's lifetime, the next thing the person does still works: one refresh first.
  const before = refreshes.length;
  await page.waitForTimeout(ACCESS_TOKEN_TTL * 1000);
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByText(email).waitFor();
  expect(refreshes.length).toBe(before + 1);
  await expect(heading('Account').isVisible()).resolves.toBe(true);

  expect(pageErrors).toEqual([]);
  expect(foreignRequests).toEqual([]);
});

it('keeps the first page small: its JavaScript under 150 KB gzipped', () => {
  const page = readFileSync(path.join(WEB_DIST, 'index.html'), 'utf8');
  const scripts = [...page.matchAll(/<script[^>]+src="\/([^"]+)"/g)].map((match) => match[1]!);
  expect(scripts.length).toBeGreaterThan(0);
  // No inline script: the CSP would refuse it.
  expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  const gzipped = scripts.reduce(
    (sum, file) => sum + gzipSync(readFileSync(path.join(WEB_DIST, file))).length,
    0,
  );
  expect(gzipped).toBeLessThan(150 * 1024);
});
