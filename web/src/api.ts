/**
 * The GraphQL client: urql's core (small, and it sends files as GraphQL multipart requests by
 * itself) with its auth exchange for refresh-and-retry. Same origin: no CORS, no URL to configure.
 */
import { Client, type CombinedError, fetchExchange, mapExchange, type Operation } from '@urql/core';
import { authExchange } from '@urql/exchange-auth';
import { type SignOutReason, session, type Tokens } from './session';

const ENDPOINT = '/graphql';
/** CSRF prevention on the gateway wants this on every non-JSON request, multipart uploads included. */
const PREFLIGHT = { 'apollo-require-preflight': 'true' };

export interface Image {
  id: string;
  filename: string;
  contentType: string;
  byteSize: number;
  width: number;
  height: number;
  url: string;
  thumbnailUrl: string;
  createdAt: string;
}

export interface User {
  id: string;
  name: string;
  email: string;
  createdAt: string;
  usage: { imageCount: number; usedBytes: number; quotaBytes: number | null };
}

/** One signed-in client of the caller (a refresh-token family), as `mySessions` lists it. */
export interface Session {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  userAgent: string | null;
  /** The session of this browser's access token. */
  current: boolean;
}

export interface ImagePage {
  totalCount: number;
  images: Image[];
  endCursor: string | null;
  hasNextPage: boolean;
}

/** One error as the UI needs it: the contract's code, and what comes with some codes. */
export interface ApiError {
  code: string;
  message: string;
  reason?: string;
  field?: string;
  retryAfter?: number;
  usedBytes?: number;
  limitBytes?: number;
  /**
   * Set when the operation was never answered because renewing the access token failed first
   * (the refresh was throttled, the service was down, the network gone): the code is the refresh's.
   */
  refresh?: boolean;
}

/**
 * A refresh that did not renew the access token, as the error of the operations that waited for
 * it: they fail with why (a retryable error), instead of going out with the expired token.
 */
export class RefreshFailed extends Error {
  override name = 'RefreshFailed';
  constructor(readonly apiError: ApiError) {
    super(apiError.message);
  }
}

const IMAGE_FIELDS = 'id filename contentType byteSize width height url thumbnailUrl createdAt';
const AUTH_FIELDS = 'accessToken refreshToken expiresIn';

/** Operations that need no access token: asking for one first would be pointless. */
const PUBLIC_OPERATIONS = new Set(['Register', 'Login', 'Refresh', 'Logout']);
const isPublic = (operation: Operation) =>
  operation.query.definitions.some(
    (definition) =>
      definition.kind === 'OperationDefinition' && PUBLIC_OPERATIONS.has(definition.name?.value ?? ''),
  );

export function firstError(error: CombinedError | undefined): ApiError | undefined {
  if (!error) return undefined;
  if (error.networkError instanceof RefreshFailed) return error.networkError.apiError;
  const graphQLError = error.graphQLErrors[0];
  if (!graphQLError) {
    return { code: 'NETWORK_ERROR', message: 'Could not reach the server. Check your connection.' };
  }
  const extensions = graphQLError.extensions as Record<string, unknown>;
  const number = (key: string) =>
    typeof extensions[key] === 'number' ? (extensions[key] as number) : undefined;
  return {
    code: typeof extensions.code === 'string' ? extensions.code : 'INTERNAL_SERVER_ERROR',
    message: graphQLError.message,
    reason: typeof extensions.reason === 'string' ? extensions.reason : undefined,
    field: typeof extensions.field === 'string' ? extensions.field : undefined,
    retryAfter: number('retryAfter'),
    usedBytes: number('usedBytes'),
    limitBytes: number('limitBytes'),
  };
}

/** The code of an HTTP answer without a GraphQL body (a proxy's error page, a server restarting). */
function statusCode(status: number): string {
  if (status === 429) return 'TOO_MANY_REQUESTS';
  return status >= 500 ? 'SERVICE_UNAVAILABLE' : 'NETWORK_ERROR';
}

/** A plain request, outside the client: the refresh itself must not go through the auth exchange. */
async function post<T>(
  query: string,
  variables: Record<string, unknown>,
): Promise<{ data?: T; error?: ApiError }> {
  let response: Response;
  try {
    response = await fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...PREFLIGHT },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    return { error: { code: 'NETWORK_ERROR', message: 'Could not reach the server.' } };
  }
  let body: { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] } | undefined;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = body?.errors?.[0];
  if (error) {
    const extensions = error.extensions ?? {};
    return {
      error: {
        code: String(extensions.code ?? 'INTERNAL_SERVER_ERROR'),
        message: error.message,
        reason: typeof extensions.reason === 'string' ? extensions.reason : undefined,
        retryAfter: typeof extensions.retryAfter === 'number' ? extensions.retryAfter : undefined,
      },
    };
  }
  if (body?.data) return { data: body.data };
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  return {
    error: {
      code: statusCode(response.status),
      message: `The server answered HTTP ${response.status}.`,
      retryAfter: Number.isFinite(retryAfter) ? retryAfter : undefined,
    },
  };
}

let refreshing: Promise<ApiError | undefined> | undefined;
/** Until when (ms since the epoch) the server refused refreshes: asking again sooner fails again. */
let refreshThrottledUntil = 0;

/**
 * Trades the stored refresh token for a new pair; undefined when it did, else why not. One at a
 * time in this tab, and one at a time across tabs (Web Locks): refresh tokens are single-use, and
 * two tabs rotating the same one would look like token theft to the server, which then ends the
 * session.
 *
 * Only a refused refresh token (UNAUTHENTICATED) ends the session here. Anything else (offline,
 * throttled, the service down) keeps the refresh token for a later try: the person stays signed
 * in, and what they asked for fails with an error they can retry.
 */
export function refreshSession(): Promise<ApiError | undefined> {
  refreshing ??= (async () => {
    const rotate = async (): Promise<ApiError | undefined> => {
      const wait = refreshThrottledUntil - Date.now();
      if (wait > 0) {
        return {
          code: 'TOO_MANY_REQUESTS',
          message: 'Too many attempts',
          retryAfter: wait / 1000,
          refresh: true,
        };
      }
      // Read inside the lock: another tab may have rotated it a moment ago.
      const refreshToken = session.useRefreshToken();
      if (!refreshToken) {
        // Another tab signed out: nothing left to renew this tab's session with.
        session.clear('ended');
        return {
          code: 'UNAUTHENTICATED',
          reason: 'REFRESH_TOKEN_INVALID',
          message: 'Signed out',
          refresh: true,
        };
      }
      const result = await post<{ refreshToken: Tokens }>(
        `mutation Refresh($refreshToken: String!) { refreshToken(refreshToken: $refreshToken) { ${AUTH_FIELDS} } }`,
        { refreshToken },
      );
      if (result.data) {
        session.store(result.data.refreshToken);
        return undefined;
      }
      const error: ApiError = {
        ...(result.error ?? { code: 'INTERNAL_SERVER_ERROR', message: 'No answer' }),
        refresh: true,
      };
      // Refused: the session is over. Anything else (offline, throttled): keep it for a later try.
      if (error.code === 'UNAUTHENTICATED') session.clear('ended');
      if (error.code === 'TOO_MANY_REQUESTS') {
        refreshThrottledUntil = Date.now() + (error.retryAfter ?? 1) * 1000;
      }
      return error;
    };
    return navigator.locks ? navigator.locks.request('imagehub-refresh', rotate) : rotate();
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

const isUnauthenticated = (error: CombinedError) =>
  error.graphQLErrors.find((e) => e.extensions?.code === 'UNAUTHENTICATED');

/**
 * What an UNAUTHENTICATED answer to a signed-in operation means for the session: nothing when it
 * is a wrong password typed into a form (changePassword, deleteAccount: BAD_CREDENTIALS), ended by
 * the server (SESSION_REVOKED) or otherwise unusable. Nor does TOKEN_EXPIRED left after the
 * exchange's refresh-and-retry end it: a refused refresh token has already ended the session
 * (refreshSession), and any other failed renewal deserves a later try, not a sign-out.
 */
function sessionEnd(error: CombinedError): SignOutReason | undefined {
  const reason = isUnauthenticated(error)?.extensions?.reason;
  if (reason === undefined || reason === 'BAD_CREDENTIALS' || reason === 'TOKEN_EXPIRED') return undefined;
  return reason === 'SESSION_REVOKED' ? 'revoked' : 'ended';
}

export const client = new Client({
  url: ENDPOINT,
  preferGetMethod: false,
  fetchOptions: { headers: PREFLIGHT },
  requestPolicy: 'network-only',
  exchanges: [
    // After a refresh and retry: an UNAUTHENTICATED left on a signed-in operation means signing in
    // again, unless it is a mistyped password or an expired token (see sessionEnd).
    mapExchange({
      onError(error, operation) {
        const reason = isPublic(operation) ? undefined : sessionEnd(error);
        if (reason) session.clear(reason);
      },
    }),
    authExchange(async (utils) => ({
      addAuthToOperation(operation) {
        const token = session.accessToken;
        return token && !isPublic(operation)
          ? utils.appendHeaders(operation, { Authorization: `Bearer ${token}` })
          : operation;
      },
      // Refresh ahead of time when the token is known to be stale (after a reload there is none).
      willAuthError(operation) {
        return !isPublic(operation) && session.accessTokenStale() && session.refreshToken !== undefined;
      },
      // The server says so: refresh, and the exchange retries the operation once. A session ended
      // while another tab stored a newer one (it signed in anew): carry on with that one.
      didAuthError(error) {
        const reason = isUnauthenticated(error)?.extensions?.reason;
        return reason === 'TOKEN_EXPIRED' || (reason === 'SESSION_REVOKED' && session.newerSessionStored());
      },
      // Not renewed: the waiting operations fail with why (the exchange hands them this error)
      // rather than going out with the expired token, whose TOKEN_EXPIRED would read as the end.
      async refreshAuth() {
        const failure = await refreshSession();
        if (failure) throw new RefreshFailed(failure);
      },
    })),
    fetchExchange,
  ],
});

/** Signed URLs name the gateway's public origin; the page loads them from its own (CSP: 'self'). */
function sameOrigin(url: string): string {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

function localImage(image: Image): Image {
  return { ...image, url: sameOrigin(image.url), thumbnailUrl: sameOrigin(image.thumbnailUrl) };
}

/** Seconds since the epoch at which a signed URL stops working (its `exp`), or 0 if unknown. */
export function urlExpiry(url: string): number {
  return Number(new URL(url, location.href).searchParams.get('exp') ?? 0);
}

async function authenticate(
  operation: 'register' | 'login',
  query: string,
  variables: Record<string, string>,
): Promise<ApiError | undefined> {
  const result = await client.mutation<Record<string, Tokens>>(query, variables).toPromise();
  const tokens = result.data?.[operation];
  if (tokens) {
    session.store(tokens);
    return undefined;
  }
  return firstError(result.error);
}

export const api = {
  register: (name: string, email: string, password: string) =>
    authenticate(
      'register',
      `mutation Register($name: String!, $email: String!, $password: String!) { register(name: $name, email: $email, password: $password) { ${AUTH_FIELDS} } }`,
      { name, email, password },
    ),

  login: (email: string, password: string) =>
    authenticate(
      'login',
      `mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { ${AUTH_FIELDS} } }`,
      { email, password },
    ),

  async logout(): Promise<void> {
    const refreshToken = session.refreshToken;
    if (refreshToken) {
      await client
        .mutation('mutation Logout($refreshToken: String!) { logout(refreshToken: $refreshToken) }', {
          refreshToken,
        })
        .toPromise();
    }
    session.clear();
  },

  /** The caller, with their storage usage. */
  async me(): Promise<{ user?: User; error?: ApiError }> {
    const result = await client
      .query<{ me: User }>(
        'query Me { me { id name email createdAt usage { imageCount usedBytes quotaBytes } } }',
        {},
      )
      .toPromise();
    return result.data ? { user: result.data.me } : { error: firstError(result.error) };
  },

  /** The caller's live sessions, this browser's first, then most recently used first. */
  async sessions(): Promise<{ sessions?: Session[]; error?: ApiError }> {
    const result = await client
      .query<{ mySessions: Session[] }>(
        'query MySessions { mySessions { id createdAt lastUsedAt userAgent current } }',
        {},
      )
      .toPromise();
    const sessions = result.data?.mySessions;
    if (!sessions) return { error: firstError(result.error) };
    return { sessions: [...sessions].sort((a, b) => Number(b.current) - Number(a.current)) };
  },

  /** Ends one of the caller's other sessions; one already gone (NOT_FOUND) is what was wanted. */
  async revokeSession(id: string): Promise<ApiError | undefined> {
    const result = await client
      .mutation<{ revokeSession: boolean }>('mutation RevokeSession($id: ID!) { revokeSession(id: $id) }', {
        id,
      })
      .toPromise();
    const error = firstError(result.error);
    return error?.code === 'NOT_FOUND' ? undefined : error;
  },

  /** Ends every session of the caller, this one included: this browser is signed out too. */
  async logoutEverywhere(): Promise<ApiError | undefined> {
    const result = await client
      .mutation<{ logoutEverywhere: boolean }>('mutation LogoutEverywhere { logoutEverywhere }', {})
      .toPromise();
    if (result.data?.logoutEverywhere) session.clear('everywhere');
    return firstError(result.error);
  },

  /**
   * Every other session ends; this one stays, and the server hands back a fresh pair for it, which
   * replaces this browser's tokens at once (the refresh token stored before no longer works).
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<ApiError | undefined> {
    const result = await client
      .mutation<{ changePassword: Tokens }>(
        `mutation ChangePassword($currentPassword: String!, $newPassword: String!) { changePassword(currentPassword: $currentPassword, newPassword: $newPassword) { ${AUTH_FIELDS} } }`,
        { currentPassword, newPassword },
      )
      .toPromise();
    if (result.data?.changePassword) {
      session.store(result.data.changePassword);
      return undefined;
    }
    return firstError(result.error);
  },

  /** Deletes the account with its photos and sessions; signed out here once the server says so. */
  async deleteAccount(password: string): Promise<ApiError | undefined> {
    const result = await client
      .mutation<{ deleteAccount: boolean }>(
        'mutation DeleteAccount($password: String!) { deleteAccount(password: $password) }',
        {
          password,
        },
      )
      .toPromise();
    if (result.data?.deleteAccount) session.clear('deleted');
    return firstError(result.error);
  },

  async images(first: number, after: string | null): Promise<{ page?: ImagePage; error?: ApiError }> {
    const result = await client
      .query<{
        myImages: {
          totalCount: number;
          edges: { node: Image }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      }>(
        `query MyImages($first: Int!, $after: String) { myImages(first: $first, after: $after) { totalCount edges { node { ${IMAGE_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
        { first, after },
      )
      .toPromise();
    const connection = result.data?.myImages;
    if (!connection) return { error: firstError(result.error) };
    return {
      page: {
        totalCount: connection.totalCount,
        images: connection.edges.map((edge) => localImage(edge.node)),
        endCursor: connection.pageInfo.endCursor,
        hasNextPage: connection.pageInfo.hasNextPage,
      },
    };
  },

  async image(id: string): Promise<{ image?: Image | null; error?: ApiError }> {
    const result = await client
      .query<{ image: Image | null }>(`query Image($id: ID!) { image(id: $id) { ${IMAGE_FIELDS} } }`, { id })
      .toPromise();
    if (result.error) return { error: firstError(result.error) };
    return { image: result.data?.image ? localImage(result.data.image) : null };
  },

  async deleteImage(id: string): Promise<ApiError | undefined> {
    const result = await client
      .mutation<{ deleteImage: boolean }>('mutation DeleteImage($id: ID!) { deleteImage(id: $id) }', { id })
      .toPromise();
    return firstError(result.error);
  },

  /** Uploads one file through XMLHttpRequest, the one browser API that reports upload progress. */
  async upload(
    file: File,
    onProgress: (fraction: number) => void,
  ): Promise<{ image?: Image; error?: ApiError }> {
    const result = await client
      .mutation<{ uploadImage: Image }>(
        `mutation UploadImage($file: Upload!) { uploadImage(file: $file) { ${IMAGE_FIELDS} } }`,
        { file },
        { fetch: progressFetch(onProgress) },
      )
      .toPromise();
    const image = result.data?.uploadImage;
    return image ? { image: localImage(image) } : { error: firstError(result.error) };
  },
};

/** `fetch`'s shape over XMLHttpRequest, for urql's per-operation `fetch` option. */
function progressFetch(onProgress: (fraction: number) => void): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(init?.method ?? 'POST', String(input));
      new Headers(init?.headers).forEach((value, name) => {
        xhr.setRequestHeader(name, value);
      });
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener('load', () => {
        const headers = new Headers();
        for (const line of xhr
          .getAllResponseHeaders()
          .trim()
          .split(/[\r\n]+/)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
        }
        resolve(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers }));
      });
      xhr.addEventListener('error', () => reject(new TypeError('The upload was interrupted')));
      xhr.addEventListener('abort', () => reject(new DOMException('Aborted', 'AbortError')));
      init?.signal?.addEventListener('abort', () => xhr.abort());
      xhr.send(init?.body as XMLHttpRequestBodyInit);
    });
}
