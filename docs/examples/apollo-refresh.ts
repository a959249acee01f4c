import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { from, switchMap } from 'rxjs';

export interface Session {
  accessToken: string;
  refreshToken: string;
}

/** Where the app keeps its tokens (memory, secure storage...). `undefined`: logged out. */
export interface SessionStore {
  get(): Session | undefined;
  set(session: Session | undefined): void;
}

const REFRESH = `mutation Refresh($refreshToken: String!) {
  refreshToken(refreshToken: $refreshToken) { accessToken refreshToken }
}`;

/**
 * An Apollo Client that sends the access token, and on UNAUTHENTICATED with reason TOKEN_EXPIRED
 * refreshes it once and retries the operation. Every other UNAUTHENTICATED reason (and a failed
 * refresh) means the user must log in again: `onLoginRequired` is called with the reason.
 */
export function createImagehubClient(options: {
  uri: string;
  session: SessionStore;
  onLoginRequired: (reason: string) => void;
}) {
  const { uri, session, onLoginRequired } = options;

  // One refresh at a time: a refresh token works once (rotation), and presenting a used one again
  // revokes the whole session, so concurrent expired requests must share the same refresh.
  let refreshing: Promise<void> | undefined;
  const refresh = () => {
    refreshing ??= (async () => {
      const current = session.get();
      if (!current) throw new Error('TOKEN_MISSING');
      // Straight to the API, not through this client: a failing refresh must not loop through the links.
      const response = await fetch(uri, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: REFRESH, variables: { refreshToken: current.refreshToken } }),
      });
      const body = (await response.json()) as {
        data?: { refreshToken: Session } | null;
        errors?: { extensions?: { reason?: string } }[];
      };
      if (!body.data?.refreshToken) {
        session.set(undefined);
        throw new Error(body.errors?.[0]?.extensions?.reason ?? 'REFRESH_TOKEN_INVALID');
      }
      session.set(body.data.refreshToken);
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  const refreshOnExpiry = new ErrorLink(({ error, operation, forward }) => {
    if (!CombinedGraphQLErrors.is(error)) return;
    const reasons = error.errors
      .filter((e) => e.extensions?.code === 'UNAUTHENTICATED')
      .map((e) => String(e.extensions?.reason));
    if (reasons.length === 0) return;
    // Retry once only: an operation that fails again after a fresh token is not about expiry.
    if (reasons.includes('TOKEN_EXPIRED') && !operation.getContext().retriedAfterRefresh) {
      operation.setContext({ retriedAfterRefresh: true });
      return from(
        refresh().catch((failure: Error) => {
          onLoginRequired(failure.message);
          throw failure;
        }),
      ).pipe(switchMap(() => forward(operation)));
    }
    onLoginRequired(reasons[0]!);
  });

  // Runs on every attempt, the retry included, so it always sends the newest token.
  const withToken = new SetContextLink((context) => {
    const token = session.get()?.accessToken;
    return token ? { headers: { ...context.headers, authorization: `Bearer ${token}` } } : {};
  });

  return new ApolloClient({
    link: ApolloLink.from([refreshOnExpiry, withToken, new HttpLink({ uri })]),
    cache: new InMemoryCache(),
  });
}
