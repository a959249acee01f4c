/**
 * Where the tokens live. The access token only in memory: it is what every request carries, and a
 * reload simply gets a new one. The refresh token in localStorage, so a reload or a new tab stays
 * signed in (the API hands it over in the response body; there is no httpOnly cookie to hold it).
 * The price: a script running on this origin could read it, which is why the page allows no script
 * but its own (strict CSP), never renders API text as HTML, and why the server rotates refresh
 * tokens and revokes a session whose old token is reused. See web/README.md.
 */
const REFRESH_KEY = 'imagehub.refreshToken';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives, from the API. */
  expiresIn: number;
}

let accessToken: string | undefined;
/** When the access token stops working, by our clock, with a margin for the trip to the server. */
let accessExpiresAt = 0;
const signedOutListeners = new Set<() => void>();

export const session = {
  get accessToken(): string | undefined {
    return accessToken;
  },
  get refreshToken(): string | undefined {
    return localStorage.getItem(REFRESH_KEY) ?? undefined;
  },
  /** True when the access token is missing or about to expire: refresh before sending. */
  accessTokenStale(): boolean {
    return !accessToken || Date.now() >= accessExpiresAt;
  },
  store(tokens: Tokens): void {
    accessToken = tokens.accessToken;
    accessExpiresAt = Date.now() + Math.max(0, tokens.expiresIn - 5) * 1000;
    localStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  },
  clear(): void {
    const wasSignedIn = accessToken !== undefined || localStorage.getItem(REFRESH_KEY) !== null;
    accessToken = undefined;
    accessExpiresAt = 0;
    localStorage.removeItem(REFRESH_KEY);
    if (wasSignedIn) for (const listener of signedOutListeners) listener();
  },
  /** Called once whenever a signed-in session ends (sign-out, refused refresh, revoked token). */
  onSignedOut(listener: () => void): void {
    signedOutListeners.add(listener);
  },
};
