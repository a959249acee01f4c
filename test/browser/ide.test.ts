/**
 * The gateway's GraphQL IDE in a real browser (Debian's chromium), held to the gateway's origin:
 * every request elsewhere is blocked and recorded, and there must be none. Through the IDE's own
 * UI: register, log in, put the token into the Authorization header, run `me`, pick a PNG and
 * upload it. The screenshot of the result is kept in .test-results/browser/ (a CI artifact).
 *
 * Needs /usr/bin/chromium (scripts/install-chromium.sh); jest.config.js leaves this file out,
 * saying so, when a developer's machine has none. CI installs it and always runs this.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { noisePng } from '@imagehub/test-kit';
import type { Page, Response } from 'playwright-core';
import { type RunningSystem, startSystem } from '../../gateway/src/test-support/system';
import { type OriginBoundBrowser, openOriginBoundBrowser } from './browser';

const RESULTS = path.resolve(__dirname, '../../.test-results/browser');

jest.setTimeout(120_000);

let system: RunningSystem;
let browser: OriginBoundBrowser;

beforeAll(async () => {
  system = await startSystem();
  browser = await openOriginBoundBrowser(system.gatewayUrl);
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

interface GraphQLBody {
  data?: Record<string, Record<string, unknown>> | null;
  errors?: { message: string }[];
}

const runWidget = (page: Page, label: string) =>
  page.locator('.query-editor__line-widget', { hasText: `(Send ${label})` });

/** Clicks the IDE's "run this operation" widget above `operation` and returns the gateway's answer. */
async function run(page: Page, label: string): Promise<{ response: Response; body: GraphQLBody }> {
  const answered = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/graphql' && r.request().method() === 'POST',
  );
  await runWidget(page, label).click();
  const response = await answered;
  return { response, body: (await response.json()) as GraphQLBody };
}

it('runs the journey from an account to an upload, talking to nobody but the gateway', async () => {
  const { page, foreignRequests } = browser;
  const email = `ide-${randomUUID()}@example.com`;
  const password = 'correct horse battery staple';

  // The IDE loads the schema by introspection, through the same origin.
  const introspected = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/graphql' && (r.request().postData() ?? '').includes('__schema'),
  );
  await page.goto(`${system.gatewayUrl}/graphql`);
  await runWidget(page, 'mutation Register').waitFor();
  const schema = (await (await introspected).json()) as { data?: { __schema?: unknown } };
  expect(schema.data?.__schema).toBeDefined();
  expect(foreignRequests).toEqual([]);

  // The starting document registers ada@example.com; this run uses an address of its own.
  await page.locator('app-query-editor .cm-content').click();
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(`mutation Register {
  register(name: "Ada", email: "${email}", password: "${password}") { accessToken user { id email } }
}

mutation Login {
  login(email: "${email}", password: "${password}") { accessToken refreshToken }
}

query Me {
  me { id email }
}

mutation Upload($file: Upload!) {
  uploadImage(file: $file) { id filename contentType width height url }
}
`);

  const registered = await run(page, 'mutation Register');
  expect(registered.body.errors).toBeUndefined();
  expect(registered.body.data?.register?.user).toEqual({ id: expect.any(String), email });

  const loggedIn = await run(page, 'mutation Login');
  expect(loggedIn.body.errors).toBeUndefined();
  const accessToken = String(loggedIn.body.data?.login?.accessToken);

  // The token goes where a user puts it: the IDE's header editor, replacing the placeholder.
  await page.getByLabel('Set Headers').click();
  const headerValue = page
    .locator('app-headers-editor [role=textbox][aria-placeholder="Header value"]')
    .filter({ hasText: 'Bearer <' });
  await headerValue.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(`Bearer ${accessToken}`);
  await page.getByRole('button', { name: 'Done' }).click();

  const me = await run(page, 'query Me');
  expect(me.response.request().headers().authorization).toBe(`Bearer ${accessToken}`);
  expect(me.body).toEqual({ data: { me: { id: expect.any(String), email } } });

  // A file picked in the browser, sent as a GraphQL multipart request with the preset preflight header.
  if (!(await page.getByText('Add files', { exact: true }).isVisible())) {
    await page.locator('[track-id=toggle_variables]').click();
  }
  await page.getByText('Add files', { exact: true }).click();
  await page.locator('[data-tid=file_name]').fill('file');
  await page
    .locator('input.variables-file-item-input')
    .setInputFiles({ name: 'from-the-browser.png', mimeType: 'image/png', buffer: noisePng(96, 64) });
  const uploaded = await run(page, 'mutation Upload');
  const sent = uploaded.response.request().headers();
  expect(sent['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  expect(sent['apollo-require-preflight']).toBe('true');
  expect(uploaded.body.errors).toBeUndefined();
  expect(uploaded.body.data?.uploadImage).toMatchObject({
    filename: 'from-the-browser.png',
    contentType: 'image/png',
    width: 96,
    height: 64,
  });

  // What the user sees: the upload's answer in the result pane.
  await page.locator('app-query-result').getByText('"uploadImage"').waitFor();
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, 'ide-upload.png') });
  expect(foreignRequests).toEqual([]);
});
