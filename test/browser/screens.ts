/** What the web app's browser tests share: screenshots at two sizes, and files dropped on the page. */
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * `shot(name)` saves `<name>-desktop.png` and `<name>-phone.png` under `dir`, then goes back to
 * desktop size; with `scrollTo`, that part of the page is brought to the top at each size.
 */
export function screenshots(page: Page, dir: string): (name: string, scrollTo?: Locator) => Promise<void> {
  return async (name, scrollTo) => {
    for (const [label, size] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(size);
      await scrollTo?.evaluate((element) => element.scrollIntoView({ block: 'start' }));
      await page.evaluate(() => new Promise(requestAnimationFrame));
      await page.screenshot({ path: path.join(dir, `${name}-${label}.png`) });
    }
    await page.setViewportSize(DESKTOP);
  };
}

/** Drops files on the page the way a file manager does: a drop event carrying a DataTransfer. */
export async function drop(page: Page, files: { name: string; base64: string }[]): Promise<void> {
  await page.evaluate((dropped) => {
    const transfer = new DataTransfer();
    for (const file of dropped) {
      const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], file.name, { type: 'image/png' }));
    }
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, files);
}

/**
 * The final word of the upload row for `name` ("Uploaded", or why it failed), once it has one: a
 * refusal fails a test with its message, not with a timeout waiting for "Uploaded". Generous by
 * default: on a loaded CI machine a worker may take a while to get to the picture.
 */
export async function uploadOutcome(
  page: Page,
  name: string,
  timeout = 120_000,
): Promise<string | undefined> {
  const settled = page.locator('.upload.done, .upload.failed', { hasText: name });
  await settled.waitFor({ timeout });
  return (await settled.locator('.upload-message').textContent())?.trim();
}
