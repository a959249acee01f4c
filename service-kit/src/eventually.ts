/**
 * Waiting for a condition (a port answering, a probe turning, a row appearing) instead of sleeping
 * for a guessed time: polls `check` until it returns true (a throw counts as "not yet"), and fails
 * naming `what` once `withinMs` has passed. Resolves with how long it took.
 */
export async function eventually(
  what: string,
  withinMs: number,
  check: () => Promise<boolean> | boolean,
  everyMs = 100,
): Promise<number> {
  const started = Date.now();
  let lastError: unknown;
  while (Date.now() - started < withinMs) {
    try {
      if (await check()) return Date.now() - started;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`${what}: not within ${withinMs} ms${cause}`);
}
