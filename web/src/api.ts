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

/** A plain request, outside the client: the refresh itself must not go through the auth exchange. */
async function post<T>(
  query: string,
  variables: Record<string, unknown>,
): Promise<{ data?: T; error?: ApiError }> {
  try {
    const response = await fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...PREFLIGHT },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as {
      data?: T;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    };
    const error = body.errors?.[0];
    if (error) {
      return {
        error: {
          code: String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'),
          message: error.message,
          reason: typeof error.extensions?.reason === 'string' ? error.extensions.reason : undefined,
        },
      };
    }
    return { data: body.data };
  } catch {
    return { error: { code: 'NETWORK_ERROR', message: 'Could not reach the server.' } };
  }
}

let refreshing: Promise<boolean> | undefined;

/**
 * Trades the stored refresh token for a new pair. One at a time in this tab, and one at a time
 * across tabs (Web Locks): refresh tokens are single-use, and two tabs rotating the same one would
 * look like token theft to the server, which then ends the session.
 */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const rotate = async () => {
      // Read inside the lock: another tab may have rotated it a moment ago.
      const refreshToken = session.useRefreshToken();
      if (!refreshToken) return false;
      const result = await post<{ refreshToken: Tokens }>(
        `mutation Refresh($refreshToken: String!) { refreshToken(refreshToken: $refreshToken) { ${AUTH_FIELDS} } }`,
        { refreshToken },
      );
      if (result.data) {
        session.store(result.data.refreshToken);
        return true;
      }
      // Refused: the session is over. Anything else (offline, throttled): keep it for a later try.
      if (result.error?.code === 'UNAUTHENTICATED') session.clear('ended');
      return false;
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
 * the server (SESSION_REVOKED) or otherwise unusable.
 */
function sessionEnd(error: CombinedError): SignOutReason | undefined {
  const reason = isUnauthenticated(error)?.extensions?.reason;
  if (reason === undefined || reason === 'BAD_CREDENTIALS') return undefined;
  return reason === 'SESSION_REVOKED' ? 'revoked' : 'ended';
}

export const client = new Client({
  url: ENDPOINT,
  preferGetMethod: false,
  fetchOptions: { headers: PREFLIGHT },
  requestPolicy: 'network-only',
  exchanges: [
    // After a refresh and retry: any UNAUTHENTICATED left on a signed-in operation means signing in again.
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
      async refreshAuth() {
        await refreshSession();
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
