/**
 * The gateway's revocation list is a long poll of the auth service's /revoked-sessions: each
 * request is held until a revocation commits or REVOCATION_LISTEN_POLL_INTERVAL_MS (4 s) passed,
 * so an idle gateway asks every 4 s instead of every second, and a revocation still reaches it at
 * once. The requests are seen through a recording proxy in front of the auth subgraph.
 */
import { REVOKED_SESSIONS_PATH } from '@imagehub/service-kit';
import { uploadImage } from '@imagehub/subgraph-image/test-support';
import { eventually, noisePng } from '@imagehub/test-kit';
import { gql, type RunningSystem, startSystem } from './test-support/system';

let system: RunningSystem;
/** When each request for the revoked sessions reached the proxy, with its query. */
const polls: { at: number; wait: string | null; known: string | null }[] = [];
let watcher: NodeJS.Timeout;

beforeAll(async () => {
  system = await startSystem({ recordAuthTraffic: true });
  let seen = 0;
  watcher = setInterval(() => {
    const all = system.authProxy?.seen ?? [];
    for (; seen < all.length; seen++) {
      const url = new URL(all[seen]!.url, 'http://proxy');
      if (url.pathname !== REVOKED_SESSIONS_PATH) continue;
      polls.push({
        at: Date.now(),
        wait: url.searchParams.get('wait'),
        known: url.searchParams.get('known'),
      });
    }
  }, 10);
});
afterAll(async () => {
  clearInterval(watcher);
  await system?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('asks once per 4 s wait while nothing is revoked, not once a second', async () => {
  await sleep(500);
  const from = polls.length;
  await sleep(8_500);
  const window = polls.slice(from);
  // Before: a plain request every second (8 or 9 here, without `wait`). How many there are now
  // depends on how often other test files revoke sessions (each answers a held request early), so
  // the spacing of the requests whose list did not change is what is held to the 4 s (below).
  expect(window.length).toBeGreaterThanOrEqual(2);
  for (const poll of window) {
    expect(poll.wait).toBe('4000');
    expect(poll.known).toMatch(/^[\w-]{22}$/);
  }
  // Other test files revoke sessions in the same database, which answers a held request early
  // (its list changed); a request whose list did not change was held for the whole wait.
  const all = polls.slice(from - 1);
  for (let i = 1; i < all.length; i++) {
    if (all[i]!.known === all[i - 1]!.known)
      expect(all[i]!.at - all[i - 1]!.at).toBeGreaterThanOrEqual(3_800);
  }
});

it('refuses a revoked upload at once, though it asks only every 4 s', async () => {
  const user = await system.auth.registerUser();
  await system.stopImage();
  try {
    // A request of the gateway's is being held now.
    await sleep(1_500);
    const revoked = await gql(system.gatewayUrl, 'mutation { logoutEverywhere }', {
      token: user.accessToken,
    });
    expect(revoked.errors).toBeUndefined();
    const since = Date.now();
    // Stopped, the image subgraph cannot refuse it: only the gateway's own list says SESSION_REVOKED.
    await eventually('the gateway refuses the revoked upload', 5_000, async () => {
      const result = await uploadImage(system.gatewayUrl, user.accessToken, noisePng(4, 4), 'r.png');
      return result.errors?.[0]?.extensions?.reason === 'SESSION_REVOKED';
    });
    // Before: within the next 1 s poll; the held request is answered on the revocation's NOTIFY.
    expect(Date.now() - since).toBeLessThan(1_000);
  } finally {
    await system.restartImage();
  }
});
