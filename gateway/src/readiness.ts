import type { Pool } from 'undici';

/** Whether a subgraph answers its own `/readyz` within the timeout (it checks its database itself). */
export async function subgraphReady(pool: Pool, timeoutMs: number): Promise<boolean> {
  try {
    const response = await pool.request({
      method: 'GET',
      path: '/readyz',
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}
