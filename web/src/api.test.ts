/**
 * The client's refresh-and-retry against a scripted server (a stand-in `fetch`): a refresh that
 * fails for a passing reason (throttled, the service down, offline) keeps the person signed in and
 * fails the waiting operation with why; only a refused refresh token ends the session. The same,
 * against the real system in a browser: test/browser/web-refresh.test.ts.
 */
import type * as Api from './api';
import type * as Session from './session';

type Answer = { status?: number; body: unknown } | 'offline';
type Handler = (operation: string, request: { token?: string; variables: Record<string, unknown> }) => Answer;

const REFRESH_KEY = 'imagehub.refreshToken';
const IMAGES = { myImages: { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } } };
const expired = {
  errors: [
    {
      message: 'Access token has expired; get a new one with refreshToken',
      extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' },
    },
  ],
};
const pair = (n: number): Answer => ({
  body: {
    data: { refreshToken: { accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn: 900 } },
  },
});

/** What the page sent: operation names, with the access token each carried. */
let sent: string[];
let handler: Handler;
let storage: Map<string, string>;

beforeEach(() => {
  sent = [];
  storage = new Map();
  Object.assign(globalThis, {
    localStorage: {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => storage.set(key, String(value)),
      removeItem: (key: string) => storage.delete(key),
    },
    location: { href: 'http://imagehub.test/' },
    navigator: {},
    fetch: async (_url: string, init: RequestInit) => {
      const { operationName, query, variables } = JSON.parse(String(init.body)) as {
        operationName?: string;
        query: string;
        variables: Record<string, unknown>;
      };
      const operation = operationName ?? query.match(/^\s*(?:query|mutation)\s+(\w+)/)?.[1] ?? '?';
      const token = new Headers(init.headers).get('authorization')?.replace(/^Bearer /, '');
      sent.push(token ? `${operation}(${token})` : operation);
      const answer = handler(operation, { token, variables });
      if (answer === 'offline') throw new TypeError('Failed to fetch');
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      const type = typeof answer.body === 'string' ? 'text/html' : 'application/json';
      return new Response(text, { status: answer.status ?? 200, headers: { 'content-type': type } });
    },
  });
});

/** A fresh copy of the app's modules (their state: tokens, a throttled refresh), signed in. */
async function signedIn(
  expiresIn = 900,
): Promise<{ api: typeof Api; session: typeof Session.session; endings: string[] }> {
  jest.resetModules();
  const api = (await import('./api')) as typeof Api;
  const { session } = (await import('./session')) as typeof Session;
  session.store({ accessToken: 'access-0', refreshToken: 'refresh-0', expiresIn });
  const endings: string[] = [];
  session.onSignedOut((reason) => endings.push(reason));
  return { api, session, endings };
}

/** The server: MyImages refused as expired for every token but the ones `valid` names, Refresh answered by `refresh`. */
function server(refresh: () => Answer, valid: string[] = []): void {
  handler = (operation, { token }) => {
    if (operation === 'Refresh') return refresh();
    if (operation === 'MyImages')
      return token && valid.includes(token) ? { body: { data: IMAGES } } : { body: expired };
    throw new Error(`unexpected ${operation}`);
  };
}

const throttled = {
  body: {
    errors: [
      {
        message: 'Too many requests, try again later',
        extensions: { code: 'TOO_MANY_REQUESTS', retryAfter: 30 },
      },
    ],
  },
};

it('keeps the session when the refresh is throttled, and says how long to wait', async () => {
  const { api, session, endings } = await signedIn();
  server(() => throttled);

  const first = await api.api.images(24, null);
  expect(endings).toEqual([]);
  expect(storage.get(REFRESH_KEY)).toBe('refresh-0');
  expect(session.refreshToken).toBe('refresh-0');
  // Not sent again with the expired token (whose TOKEN_EXPIRED used to read as the session's end).
  expect(sent).toEqual(['MyImages(access-0)', 'Refresh']);
  expect(first.error).toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfter: 30, refresh: true });

  // A second action within the wait does not ask again: it would only be refused again.
  const second = await api.api.images(24, null);
  expect(second.error).toMatchObject({ code: 'TOO_MANY_REQUESTS', refresh: true });
  expect(second.error!.retryAfter).toBeLessThanOrEqual(30);
  expect(sent).toEqual(['MyImages(access-0)', 'Refresh', 'MyImages(access-0)']);
  expect(endings).toEqual([]);
});

it('keeps the session when the auth service is down (503, not even JSON), and renews on a later action', async () => {
  const { api, endings } = await signedIn();
  let down = true;
  server(
    () => (down ? { status: 503, body: '<html>503 Service Unavailable</html>' } : pair(1)),
    ['access-1'],
  );

  const failed = await api.api.images(24, null);
  expect(endings).toEqual([]);
  expect(storage.get(REFRESH_KEY)).toBe('refresh-0');
  expect(failed.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', refresh: true });

  down = false;
  const later = await api.api.images(24, null);
  expect(later.error).toBeUndefined();
  expect(later.page?.totalCount).toBe(0);
  expect(sent).toEqual([
    'MyImages(access-0)',
    'Refresh',
    'MyImages(access-0)',
    'Refresh',
    'MyImages(access-1)',
  ]);
  expect(storage.get(REFRESH_KEY)).toBe('refresh-1');
  expect(endings).toEqual([]);
});

it('keeps the session when the server answers SERVICE_UNAVAILABLE in GraphQL', async () => {
  const { api, endings } = await signedIn();
  server(() => ({
    status: 503,
    body: {
      errors: [{ message: 'The auth service is unavailable', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
    },
  }));
  const failed = await api.api.images(24, null);
  expect(endings).toEqual([]);
  expect(storage.get(REFRESH_KEY)).toBe('refresh-0');
  expect(failed.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', refresh: true });
});

it('keeps the session offline, also when the token is known to be stale before sending', async () => {
  // expiresIn within the 5 s margin: stale at once, so the refresh comes before the operation.
  const { api, endings } = await signedIn(1);
  server(() => 'offline');
  const failed = await api.api.images(24, null);
  expect(endings).toEqual([]);
  expect(storage.get(REFRESH_KEY)).toBe('refresh-0');
  // The operation never went out with the stale token.
  expect(sent).toEqual(['Refresh']);
  expect(failed.error).toMatchObject({ code: 'NETWORK_ERROR', refresh: true });
});

it('ends the session when the refresh token is refused', async () => {
  const { api, endings } = await signedIn();
  server(() => ({
    body: {
      errors: [
        {
          message: 'Refresh token is invalid, expired or revoked; log in again',
          extensions: { code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_INVALID' },
        },
      ],
    },
  }));
  const failed = await api.api.images(24, null);
  expect(failed.error).toMatchObject({ code: 'UNAUTHENTICATED' });
  expect(storage.has(REFRESH_KEY)).toBe(false);
  expect(endings).toEqual(['ended']);
});

it('renews and retries once when the refresh works', async () => {
  const { api, endings } = await signedIn();
  server(() => pair(1), ['access-1']);
  const result = await api.api.images(24, null);
  expect(result.error).toBeUndefined();
  expect(sent).toEqual(['MyImages(access-0)', 'Refresh', 'MyImages(access-1)']);
  expect(endings).toEqual([]);
});
