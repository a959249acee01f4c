/**
 * The web app's account screen in real browsers (Debian's chromium), against the real gateway and
 * subgraphs: one person on two devices (two browsers with profiles of their own, a laptop and a
 * phone by their User-Agents). They see both sessions, end the phone's from the laptop (the phone
 * is sent to sign-in, told why), and change the password (the old one stops working, the new one
 * works, the laptop carries on, and so does a second tab of the same browser). Every request elsewhere than the gateway's origin is blocked and counted:
 * there must be none. Screenshots at phone and desktop size go to .test-results/web/.
 *
 * Needs /usr/bin/chromium (scripts/install-chromium.sh), like web-app.test.ts beside it.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { eventually } from '@imagehub/service-kit';
import { landscapePng } from '@imagehub/test-kit';
import type { Page } from 'playwright-core';
import { gql, type RunningSystem } from '../../gateway/src/test-support/system';
import { type OriginBoundBrowser, openOriginBoundBrowser, startWebAppSystem } from './browser';
import { DESKTOP, drop, PHONE, screenshots, uploadOutcome } from './screens';

const RESULTS = path.resolve(__dirname, '../../.test-results/web');
const PASSWORD = 'four sunny meadows hum';
const NEW_PASSWORD = 'seven quiet lanterns drift';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
/** What the sign-in screen says on a device whose session was ended elsewhere. */
const ENDED_ELSEWHERE = /Your session was ended, from another device or by a password change/;

jest.setTimeout(240_000);

let system: RunningSystem;
let laptop: OriginBoundBrowser;
let phone: OriginBoundBrowser;

beforeAll(async () => {
  system = await startWebAppSystem();
  laptop = await openOriginBoundBrowser(system.gatewayUrl);
  phone = await openOriginBoundBrowser(system.gatewayUrl, { userAgent: IPHONE });
  mkdirSync(RESULTS, { recursive: true });
});
afterAll(async () => {
  await laptop?.close();
  await phone?.close();
  await system?.close();
});

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name });

/** Page errors and CSP violations a page reports: there must be none. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
      errors.push(message.text());
  });
  return errors;
}

/**
 * A browser that forgets whoever was signed in (an earlier test's account) and shows sign-in. The
 * storage is cleared on a page of the origin that runs no app, which could be storing a token.
 */
async function freshStart(page: Page): Promise<void> {
  await page.goto(`${system.gatewayUrl}/favicon.svg`);
  await page.evaluate(() => localStorage.clear());
  await page.goto(`${system.gatewayUrl}/`);
  await heading(page, 'Welcome back').waitFor();
}

async function register(page: Page, name: string, email: string, password: string): Promise<void> {
  await page.getByRole('link', { name: 'Create an account' }).click();
  await heading(page, 'Create your account').waitFor();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await heading(page, 'Photos').waitFor();
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * A device whose session was ended goes on using the app, as its owner would (the server refuses
 * the session within its revocation delay, about a second): it lands on sign-in, told why.
 */
async function usedUntilSignedOut(page: Page): Promise<void> {
  await eventually(
    'the ended session is sent to sign in',
    20_000,
    async () => {
      if (await heading(page, 'Welcome back').isVisible()) return true;
      const onAccount = await heading(page, 'Account').isVisible();
      await page.getByRole('link', { name: onAccount ? 'Photos' : 'Account' }).click({ timeout: 1_000 });
      return false;
    },
    300,
  );
}

/**
 * One person on both devices, each at its size: the laptop creates the account (Grace, PASSWORD)
 * and uploads one photo (lake.png), then the phone signs in to it and sees that photo.
 */
async function signedInOnBothDevices(email: string): Promise<void> {
  const onLaptop = laptop.page;
  const onPhone = phone.page;
  await onLaptop.setViewportSize(DESKTOP);
  await onPhone.setViewportSize(PHONE);

  await freshStart(onLaptop);
  await register(onLaptop, 'Grace', email, PASSWORD);
  await drop(onLaptop, [{ name: 'lake.png', base64: landscapePng(320, 240, 200).toString('base64') }]);
  await expect(uploadOutcome(onLaptop, 'lake.png')).resolves.toBe('Uploaded');
  await onLaptop.getByRole('button', { name: 'Clear' }).click();

  await freshStart(onPhone);
  await signIn(onPhone, email, PASSWORD);
  await heading(onPhone, 'Photos').waitFor();
  await onPhone.getByRole('link', { name: 'lake.png' }).waitFor();
}

const sessionRows = (page: Page) =>
  page.getByRole('list', { name: 'Where you’re signed in' }).getByRole('listitem');

it('shows where a person is signed in, ends another device and changes the password', async () => {
  const laptopErrors = watchErrors(laptop.page);
  const phoneErrors = watchErrors(phone.page);
  const shot = screenshots(laptop.page, RESULTS);
  const shotPhone = screenshots(phone.page, RESULTS);
  const email = `account-${randomUUID()}@example.com`;
  const onLaptop = laptop.page;
  const onPhone = phone.page;
  await signedInOnBothDevices(email);

  // The laptop's account screen: storage, and both devices, this one marked.
  await onLaptop.getByRole('link', { name: 'Account' }).click();
  await heading(onLaptop, 'Account').waitFor();
  await onLaptop.getByText(/^.+ of 1\.0 GB used by 1 photo$/).waitFor();
  await onLaptop.getByText('1 other session.').waitFor();
  await expect(sessionRows(onLaptop).count()).resolves.toBe(2);
  const thisLaptop = sessionRows(onLaptop).filter({ hasText: 'This device' });
  await expect(thisLaptop.textContent()).resolves.toMatch(/^Chrome on Linux/);
  await expect(thisLaptop.getByRole('button').count()).resolves.toBe(0);
  const iphoneRow = sessionRows(onLaptop).filter({ hasText: 'Safari on iPhone' });
  await expect(iphoneRow.textContent()).resolves.toMatch(/last active just now/);
  await shot('account');
  await shot('account-sessions', onLaptop.getByRole('region', { name: 'Where you’re signed in' }));

  // End the phone's session from the laptop: its row goes, the focus stays in the card.
  await iphoneRow.getByRole('button', { name: 'End session' }).click();
  await onLaptop.getByText('Signed out Safari on iPhone. No other device is signed in.').waitFor();
  await expect(sessionRows(onLaptop).count()).resolves.toBe(1);
  await expect(onLaptop.evaluate(() => document.activeElement?.textContent)).resolves.toBe(
    'Where you’re signed in',
  );

  // The phone is sent to sign-in, told why, and keeps nothing of the session.
  await usedUntilSignedOut(onPhone);
  await onPhone.getByText(ENDED_ELSEWHERE).waitFor();
  await expect(onPhone.evaluate(() => localStorage.length)).resolves.toBe(0);
  await shotPhone('signed-out-session-ended');
  await onPhone.setViewportSize(PHONE);
  await signIn(onPhone, email, PASSWORD);
  await heading(onPhone, 'Photos').waitFor();

  // Change the password on the laptop: a wrong current password, then a new one the rules refuse.
  await onLaptop.getByRole('link', { name: 'Photos' }).click();
  await onLaptop.getByRole('link', { name: 'Account' }).click();
  await onLaptop.getByText('1 other session.').waitFor();
  await expect(sessionRows(onLaptop).count()).resolves.toBe(2);
  await onLaptop.getByLabel('Current password').fill('not my password at all');
  await onLaptop.getByLabel('New password').fill(NEW_PASSWORD);
  await onLaptop.getByRole('button', { name: 'Change password' }).click();
  await onLaptop.getByText('That is not your current password.').waitFor();
  await expect(onLaptop.evaluate(() => document.activeElement?.id)).resolves.toBe('current-password');
  await expect(onLaptop.getByLabel('Current password').getAttribute('aria-invalid')).resolves.toBe('true');
  await expect(heading(onLaptop, 'Account').isVisible()).resolves.toBe(true);
  await onLaptop.getByLabel('Current password').fill(PASSWORD);
  await onLaptop.getByLabel('New password').fill(email);
  await onLaptop.getByRole('button', { name: 'Change password' }).click();
  await onLaptop.getByText('Password must not be your email or name').waitFor();
  await expect(onLaptop.evaluate(() => document.activeElement?.id)).resolves.toBe('new-password');
  await shot('password-refused', onLaptop.getByRole('form', { name: 'Password' }));

  // The new password: every other device is signed out, the laptop goes on with its fresh pair.
  await onLaptop.getByLabel('New password').fill(NEW_PASSWORD);
  await onLaptop.getByRole('button', { name: 'Change password' }).click();
  await onLaptop.getByText('Password changed. Every other device was signed out.').waitFor();
  await onLaptop.getByText('No other device is signed in.').waitFor();
  await expect(sessionRows(onLaptop).count()).resolves.toBe(1);
  await onLaptop.getByRole('link', { name: 'Photos' }).click();
  await onLaptop.getByRole('link', { name: 'lake.png' }).waitFor();
  await onLaptop.reload();
  await heading(onLaptop, 'Photos').waitFor();
  await onLaptop.getByRole('link', { name: 'lake.png' }).waitFor();

  // The phone is signed out; the old password no longer signs in, the new one does.
  await usedUntilSignedOut(onPhone);
  await onPhone.getByText(ENDED_ELSEWHERE).waitFor();
  await signIn(onPhone, email, PASSWORD);
  await onPhone.getByText('Wrong email or password.').waitFor();
  await onPhone.getByLabel('Password').fill(NEW_PASSWORD);
  await onPhone.getByRole('button', { name: 'Sign in' }).click();
  await heading(onPhone, 'Photos').waitFor();

  expect(laptopErrors).toEqual([]);
  expect(phoneErrors).toEqual([]);
  expect(laptop.foreignRequests).toEqual([]);
  expect(phone.foreignRequests).toEqual([]);
});

it('keeps a second tab signed in when the first changes the password: the session goes on', async () => {
  const email = `tabs-${randomUUID()}@example.com`;
  const first = await laptop.context.newPage();
  const second = await laptop.context.newPage();
  const errors = [...[first, second].map(watchErrors)];
  // What the second tab sends: its access token, and whether it refreshed.
  let secondTabToken = '';
  let secondTabRefreshes = 0;
  second.on('request', (request) => {
    const authorization = request.headers().authorization;
    if (authorization?.startsWith('Bearer ')) secondTabToken = authorization.slice('Bearer '.length);
    if (request.postData()?.includes('mutation Refresh')) secondTabRefreshes++;
  });

  // One account in two tabs of one browser: they share the refresh token.
  await freshStart(first);
  await register(first, 'Ada', email, PASSWORD);
  await second.goto(`${system.gatewayUrl}/#/account`);
  await heading(second, 'Account').waitFor();
  await second.getByText(email).waitFor();
  const refreshesBefore = secondTabRefreshes;

  await first.getByRole('link', { name: 'Account' }).click();
  await first.getByLabel('Current password').fill(PASSWORD);
  await first.getByLabel('New password').fill(NEW_PASSWORD);
  await first.getByRole('button', { name: 'Change password' }).click();
  await first.getByText('Password changed. Every other device was signed out.').waitFor();

  // The password change keeps the session both tabs share: the second tab's access token still
  // works (the change revokes only the other sessions), so it carries on without a refresh...
  const answer = await gql(system.gatewayUrl, '{ myImages(first: 1) { totalCount } }', {
    token: secondTabToken,
  });
  expect(answer.errors).toBeUndefined();
  await second.getByRole('link', { name: 'Photos' }).click();
  await heading(second, 'Photos').waitFor();
  await second.getByText('No photos yet').waitFor();
  expect(secondTabRefreshes).toBe(refreshesBefore);
  await expect(heading(second, 'Welcome back').count()).resolves.toBe(0);
  // ...and after a reload it refreshes with the fresh refresh token the first tab stored (the one
  // from before the change no longer works).
  await second.reload();
  await heading(second, 'Photos').waitFor();
  await second.getByText('No photos yet').waitFor();
  expect(secondTabRefreshes).toBe(refreshesBefore + 1);
  await expect(heading(second, 'Welcome back').count()).resolves.toBe(0);
  await first.reload();
  await heading(first, 'Account').waitFor();

  await first.close();
  await second.close();
  expect(errors.flat()).toEqual([]);
  expect(laptop.foreignRequests).toEqual([]);
});

it('deletes the account after a confirmation: signed out everywhere, no sign-in, the email free again', async () => {
  const email = `delete-${randomUUID()}@example.com`;
  const onLaptop = laptop.page;
  const onPhone = phone.page;
  const errors = [onLaptop, onPhone].map(watchErrors);
  const shot = screenshots(onLaptop, RESULTS);
  await signedInOnBothDevices(email);

  // Delete the account: a dialog that says what goes and wants the password; Escape keeps it.
  await onLaptop.getByRole('link', { name: 'Account' }).click();
  await heading(onLaptop, 'Account').waitFor();
  await onLaptop.getByRole('button', { name: 'Delete account…' }).click();
  const dialog = onLaptop.getByRole('dialog', { name: 'Delete your account?' });
  await dialog.waitFor();
  await expect(
    dialog.getByText(`Your account (${email}), your 1 photo and every session end`).isVisible(),
  ).resolves.toBe(true);
  await expect(onLaptop.evaluate(() => document.activeElement?.id)).resolves.toBe('delete-password');
  await onLaptop.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await onLaptop.getByRole('button', { name: 'Delete account…' }).click();
  await onLaptop.getByLabel('Type your password to confirm').fill('not my password at all');
  await onLaptop.keyboard.press('Enter');
  // The server's words are login's ("Invalid email or password"); the dialog asks for a password only.
  await dialog.getByText('Wrong password.', { exact: true }).waitFor();
  await expect(dialog.getByRole('alert').textContent()).resolves.toBe('Wrong password.');
  await shot('delete-account');
  await onLaptop.getByLabel('Type your password to confirm').fill(PASSWORD);
  await dialog.getByRole('button', { name: 'Delete my account' }).click();
  await heading(onLaptop, 'Welcome back').waitFor();
  await onLaptop.getByText('Your account and its photos were deleted.').waitFor();
  await expect(onLaptop.evaluate(() => localStorage.length)).resolves.toBe(0);
  await shot('signed-out-account-deleted');

  // Gone: the phone is signed out and can't sign in again, and the email is free for a new account.
  await usedUntilSignedOut(onPhone);
  await signIn(onPhone, email, PASSWORD);
  await onPhone.getByText('Wrong email or password.').waitFor();

  await register(onLaptop, 'Grace', email, PASSWORD);
  await onLaptop.getByText('No photos yet').waitFor();

  expect(errors.flat()).toEqual([]);
  expect(laptop.foreignRequests).toEqual([]);
  expect(phone.foreignRequests).toEqual([]);
});
