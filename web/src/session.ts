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

/**
 * Why a signed-in session ended, for the sign-in screen to say so: the person signed out here or
 * everywhere, the server ended this session (SESSION_REVOKED: from another device's session list,
 * or a password change there), the server refused the session otherwise (refresh token expired
 * or revoked), or the account was deleted.
 */
export type SignOutReason = 'signed-out' | 'everywhere' | 'revoked' | 'ended' | 'deleted';

let accessToken: string | undefined;
/** When the access token stops working, by our clock, with a margin for the trip to the server. */
let accessExpiresAt = 0;
/** The refresh token this tab last stored or used: another one in storage means another tab signed in anew. */
let knownRefreshToken: string | null = null;
const signedOutListeners = new Set<(reason: SignOutReason) => void>();

export const session = {
  get accessToken(): string | undefined {
    return accessToken;
  },
  get refreshToken(): string | undefined {
    return localStorage.getItem(REFRESH_KEY) ?? undefined;
  },
  /** Marks the stored refresh token as the one this tab is using (read inside the refresh lock). */
  useRefreshToken(): string | undefined {
    knownRefreshToken = localStorage.getItem(REFRESH_KEY);
    return knownRefreshToken ?? undefined;
  },
  /**
   * True when another tab stored a refresh token of a newer session (it signed in again) since
   * this tab last used one: this tab's ended session can be replaced by it.
   */
  newerSessionStored(): boolean {
    const stored = localStorage.getItem(REFRESH_KEY);
    return stored !== null && stored !== knownRefreshToken;
  },
  /** True when the access token is missing or about to expire: refresh before sending. */
  accessTokenStale(): boolean {
    return !accessToken || Date.now() >= accessExpiresAt;
  },
  store(tokens: Tokens): void {
    accessToken = tokens.accessToken;
    accessExpiresAt = Date.now() + Math.max(0, tokens.expiresIn - 5) * 1000;
    localStorage.setItem(REFRESH_KEY, tokens.refreshToken);
    knownRefreshToken = tokens.refreshToken;
  },
  clear(reason: SignOutReason = 'signed-out'): void {
    const wasSignedIn = accessToken !== undefined || localStorage.getItem(REFRESH_KEY) !== null;
    accessToken = undefined;
    accessExpiresAt = 0;
    knownRefreshToken = null;
    localStorage.removeItem(REFRESH_KEY);
    if (wasSignedIn) for (const listener of signedOutListeners) listener(reason);
  },
  /** Called once whenever a signed-in session ends (sign-out, refused refresh, revoked token), with why. */
  onSignedOut(listener: (reason: SignOutReason) => void): void {
    signedOutListeners.add(listener);
  },
};
