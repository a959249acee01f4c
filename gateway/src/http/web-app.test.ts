/**
 * The web app as the gateway serves it, over real HTTP from a real build folder: the page under a
 * self-only CSP and revalidated on every visit, hashed assets cached for good, and a clear answer
 * when nothing is built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { WEB_APP_CSP, webApp } from './web-app';

let dir: string;
let server: Server;
let base: string;

async function serve(folder: string): Promise<void> {
  const app = express();
  app.use(webApp(folder));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'imagehub-web-'));
});
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

it('serves the page without caching it, under a CSP that allows only its own origin', async () => {
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>imagehub</title>');
  writeFileSync(path.join(dir, 'assets/index-abc123.js'), 'console.log(1)');
  await serve(dir);

  const page = await fetch(`${base}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.headers.get('cache-control')).toBe('no-cache');
  expect(page.headers.get('content-security-policy')).toBe(WEB_APP_CSP);
  expect(WEB_APP_CSP).not.toMatch(/unsafe|\*|https?:/);
  expect(await page.text()).toContain('<title>imagehub</title>');

  const asset = await fetch(`${base}/assets/index-abc123.js`);
  expect(asset.status).toBe(200);
  expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect(asset.headers.get('content-type')).toMatch(/javascript/);

  expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
  expect((await fetch(`${base}/assets/../index.html`)).headers.get('cache-control')).not.toMatch(/immutable/);
});

it('says how to build the app when there is no build', async () => {
  await serve(path.join(dir, 'nothing-here'));
  const page = await fetch(`${base}/`);
  expect(page.status).toBe(404);
  expect(await page.text()).toMatch(/npm run build -w @imagehub\/web/);
});
