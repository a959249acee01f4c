import type { Knex } from '@imagehub/db';
import { addToOutbox, userDeletedEvent } from '@imagehub/messaging';
import {
  authenticateBearer,
  authenticationError,
  badUserInput,
  codedError,
  ErrorCode,
  type Logger,
  type RevocationList,
  tooManyRequests,
  UnauthenticatedReason,
  unauthenticated,
} from '@imagehub/service-kit';
import type { Session, SessionStore } from '../store/sessions';
import type { WithParts } from '../store/statement';
import { DuplicateEmailError, type User, type UserStore } from '../store/users';
import type { AccessTokenIssuer } from './access-tokens';
import { QueueSaturatedError } from './bounded-queue';
import {
  canBeRefreshToken,
  checkNewPassword,
  checkPasswordLength,
  normalizeEmail,
  normalizeLoginEmail,
  normalizeName,
} from './input';
import type { PasswordHasher } from './password-hasher';
import type { Throttle } from './throttle';

export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: User;
}

/** Who is asking: the client address (for throttling), the request's logger and the client's User-Agent (shown in mySessions). */
export interface Caller {
  ip: string;
  log: Logger;
  userAgent?: string;
}

/** The caller as the access token says: the user and, for every token issued since sessions are revocable, the session. */
export interface SignedInCaller {
  userId: string;
  sessionId: string | undefined;
}

export interface SessionView extends Session {
  current: boolean;
}

export interface AuthServiceDeps {
  db: Knex;
  users: UserStore;
  sessions: SessionStore;
  hasher: PasswordHasher;
  tokens: AccessTokenIssuer;
  throttle: Throttle;
  /** The revoked sessions, in memory; reloaded at once after this service revokes one. */
  revocations: RevocationList;
  /** Where events are written (in the transaction of what they are about) and who publishes them. */
  outbox: { table: string; wake(): void };
}

const EMAIL_TAKEN = 'An account with this email already exists';

/**
 * The sign-in flows. Every input is bounded and validated before anything costly happens
 * (throttle counters, bcrypt, queries), so bad input costs little and leaves nothing behind.
 */
export class AuthService {
  constructor(private readonly deps: AuthServiceDeps) {}

  async register(
    args: { name: string; email: string; password: string },
    caller: Caller,
  ): Promise<AuthPayload> {
    const name = normalizeName(args.name);
    const email = normalizeEmail(args.email);
    checkNewPassword(args.password, { email, name });
    const { db, users, sessions, hasher, throttle } = this.deps;

    await throttle.chargeRegistration(caller.ip);
    if (await users.emailTaken(email)) throw badUserInput('email', EMAIL_TAKEN);
    const passwordHash = await busyAsTooManyRequests(hasher.hash(args.password));
    try {
      const { user, session } = await db.transaction(async (trx) => {
        const created = await users.create({ email, name, passwordHash }, trx);
        return {
          user: created,
          session: await sessions.open(created.id, { db: trx, userAgent: caller.userAgent }),
        };
      });
      caller.log.info({ userId: user.id }, 'user registered');
      return this.payload(user, session);
    } catch (error) {
      if (error instanceof DuplicateEmailError) throw badUserInput('email', EMAIL_TAKEN);
      throw error;
    }
  }

  async login(args: { email: string; password: string }, caller: Caller): Promise<AuthPayload> {
    const email = normalizeLoginEmail(args.email);
    checkPasswordLength(args.password);
    // Two statements in all: the throttle charge with the account lookup, and after bcrypt the
    // throttle settlement with the whole session (SessionStore.open). Sessions beyond the per-user
    // bound that this ends are refused from the next poll on (about a second).
    const { user, settlement } = await this.checkPassword(email, args.password, caller, 'login');
    const session = await this.deps.sessions.open(user.id, {
      userAgent: caller.userAgent,
      alongside: settlement,
    });
    caller.log.info({ userId: user.id }, 'user logged in');
    return this.payload(user, session);
  }

  async refresh(token: string, caller: Caller): Promise<AuthPayload> {
    // A token that is not even well-formed (too long, an access token, garbage) cannot exist:
    // refused as an unknown one, without a query or a counter write.
    if (!canBeRefreshToken(token)) throw unauthenticated(UnauthenticatedReason.REFRESH_TOKEN_INVALID);
    const { users, sessions, throttle } = this.deps;
    // Looked up first, throttled only when it fails (Throttle.refreshFailed): one statement for a
    // valid token, and never refused for other people's failures from the same address.
    const result = await sessions.rotate(token);
    if (result.outcome === 'reused') {
      caller.log.warn(
        { userId: result.userId, sessionId: result.sessionId },
        'used refresh token presented again; session revoked',
      );
    }
    if (result.outcome !== 'rotated') {
      await throttle.refreshFailed(caller.ip);
      throw unauthenticated(UnauthenticatedReason.REFRESH_TOKEN_INVALID);
    }
    const [user] = await users.findByIds([result.userId]);
    if (!user) throw unauthenticated(UnauthenticatedReason.REFRESH_TOKEN_INVALID);
    return this.payload(user, result);
  }

  /**
   * Always true, for unknown, used and already-revoked tokens alike: logging out twice is not an
   * error, and the answer reveals nothing about which tokens exist.
   */
  async logout(token: string): Promise<boolean> {
    // One that cannot be a refresh token names no session: nothing to end, nothing to reload.
    if (!canBeRefreshToken(token)) return true;
    await this.deps.sessions.revokeByToken(token);
    await this.listRevocations();
    return true;
  }

  /** The caller's live sessions, most recently used first; `current` marks the one of this access token. */
  async mySessions(authorization: string | undefined): Promise<SessionView[]> {
    const caller = await this.authenticateSession(authorization);
    const sessions = await this.deps.sessions.listLive(caller.userId);
    return sessions.map((session) => ({ ...session, current: session.id === caller.sessionId }));
  }

  /** Ends one of the caller's sessions; NOT_FOUND for anyone else's, which looks the same as a missing one. */
  async revokeSession(
    authorization: string | undefined,
    sessionId: string,
    caller: Caller,
  ): Promise<boolean> {
    const { userId } = await this.authenticateSession(authorization);
    if (!(await this.deps.sessions.revokeOwnSession(userId, sessionId))) {
      throw codedError(ErrorCode.NOT_FOUND, 'No such session');
    }
    await this.listRevocations();
    caller.log.info({ userId, sessionId }, 'session revoked');
    return true;
  }

  /** Ends every session of the caller, the one making this request included. */
  async logoutEverywhere(authorization: string | undefined, caller: Caller): Promise<boolean> {
    const { userId } = await this.authenticateSession(authorization);
    const ended = await this.deps.sessions.revokeAllSessions(userId);
    await this.listRevocations();
    caller.log.info({ userId, ended }, 'logged out everywhere');
    return true;
  }

  /**
   * Register's rules for the new password; a wrong current one is BAD_CREDENTIALS and counts as a
   * failed login (the same throttle: a stolen access token must not become a password oracle).
   * As the contract says: every other session of the user ends, and the caller's own session goes
   * on with a fresh pair (its mySessions entry, `current` and its access tokens stay; its earlier
   * refresh tokens stop working, SessionStore.renew). All in the password's transaction.
   */
  async changePassword(
    authorization: string | undefined,
    args: { currentPassword: string; newPassword: string },
    caller: Caller,
  ): Promise<AuthPayload> {
    const { userId, sessionId } = await this.authenticateSession(authorization);
    checkPasswordLength(args.currentPassword, 'currentPassword');
    const { db, users, sessions, hasher } = this.deps;
    const [user] = await users.findByIds([userId]);
    // A valid token for an account that no longer exists is no login.
    if (!user) throw unauthenticated(UnauthenticatedReason.TOKEN_INVALID);
    checkNewPassword(args.newPassword, user, 'newPassword');
    const { user: owner, settlement } = await this.checkPassword(
      user.email,
      args.currentPassword,
      caller,
      'password change',
      'The current password is wrong',
    );
    await this.deps.throttle.settle(settlement);
    if (owner.id !== userId) throw wrongPassword('The current password is wrong');
    const passwordHash = await busyAsTooManyRequests(hasher.hash(args.newPassword));
    const session = await db.transaction(async (trx) => {
      await users.updatePasswordHash(userId, passwordHash, trx);
      if (sessionId === undefined) {
        // A token from before sessions were revocable names no session to keep: every session
        // ends and the caller gets a new one.
        await sessions.revokeAllSessions(userId, trx);
        return sessions.open(userId, { db: trx, userAgent: caller.userAgent });
      }
      const renewed = await sessions.renew(userId, sessionId, trx);
      // Ended (or past its age) since the token was checked: no session to keep, no change.
      if (!renewed) throw unauthenticated(UnauthenticatedReason.SESSION_REVOKED);
      await sessions.revokeAllSessions(userId, trx, { exceptSessionId: sessionId });
      return renewed;
    });
    await this.listRevocations();
    caller.log.info({ userId }, 'password changed; every other session revoked');
    return this.payload(user, session);
  }

  /**
   * Deletes the caller's account for good, once they proved it is them with their password (throttled
   * exactly like a login: the same counters, so it is no side door for guessing). In one transaction:
   * the user's sessions revoked (their access tokens refused everywhere), the user (their sessions and
   * refresh tokens with it) and a `user.deleted` event in the outbox, which makes the image service
   * delete their images. The email is free again at once.
   */
  async deleteAccount(authorization: string | undefined, password: string, caller: Caller): Promise<boolean> {
    checkPasswordLength(password);
    const { userId } = await this.authenticateSession(authorization);
    const { db, users, sessions, outbox } = this.deps;
    const [user] = await users.findByIds([userId]);
    // A valid token for an account that no longer exists is no login (see `me`).
    if (!user) throw unauthenticated(UnauthenticatedReason.TOKEN_INVALID);
    const { user: owner, settlement } = await this.checkPassword(
      user.email,
      password,
      caller,
      'account deletion',
      'The password is wrong',
    );
    await this.deps.throttle.settle(settlement);
    if (owner.id !== userId) throw wrongPassword('The password is wrong');

    const ended = await db.transaction(async (trx) => {
      // Listed as revoked before the user row (and with it, on delete cascade, the sessions and their
      // refresh tokens) goes: the revocations outlive the sessions, so every verifier refuses the
      // caller's access tokens within its poll interval, and this service at once (below).
      const revoked = await sessions.revokeAllSessions(userId, trx);
      if (!(await users.delete(userId, trx))) {
        // A concurrent deletion of the same account committed first: it sent the event.
        throw unauthenticated(UnauthenticatedReason.TOKEN_INVALID);
      }
      await addToOutbox(trx, outbox.table, [
        { destination: { event: true }, message: userDeletedEvent(userId) },
      ]);
      await this.deps.throttle.forgetAccount(user.email, trx);
      return revoked;
    });
    outbox.wake();
    await this.listRevocations();
    caller.log.info({ userId, sessions: ended }, 'account deleted');
    return true;
  }

  /** The user id in a valid access token of a live session; UNAUTHENTICATED with the reason otherwise. */
  async authenticate(authorization: string | undefined): Promise<string> {
    return (await this.authenticateSession(authorization)).userId;
  }

  async authenticateSession(authorization: string | undefined): Promise<SignedInCaller> {
    const caller = await authenticateBearer(authorization, this.deps.tokens.verifier, this.deps.revocations);
    if (caller.userId === undefined) throw authenticationError(caller);
    return { userId: caller.userId, sessionId: caller.sessionId };
  }

  /**
   * This service answers from the new list at once (the other verifiers within their poll
   * interval). A failed reload is not the caller's problem: the revocation is stored, the next
   * poll picks it up, and a list that stays stale fails closed.
   */
  private async listRevocations(): Promise<void> {
    await this.deps.revocations.reload();
  }

  /**
   * The account behind `email` if `password` is its password, under the login throttle (charged up
   * front, in the statement that looks the account up); BAD_CREDENTIALS otherwise, the same for
   * unknown accounts. A failure is settled here; a success's settlement is returned for the caller
   * to write with its own next statement (or alone, `Throttle.settle`), and must be written.
   * `wrong` words the failure for a signed-in caller, whose email is not in question.
   */
  private async checkPassword(
    email: string,
    password: string,
    caller: Caller,
    what: string,
    wrong?: string,
  ): Promise<{ user: User; settlement: WithParts }> {
    const { users, hasher, throttle } = this.deps;
    const { found: credentials, ...charge } = await throttle.chargeLogin(
      email,
      caller.ip,
      users.credentialsByEmail(email),
    );
    let matches: boolean;
    try {
      matches = await hasher.verify(password, credentials?.passwordHash);
    } catch (error) {
      if (error instanceof QueueSaturatedError) await throttle.refundLogin(email, caller.ip, charge);
      throw mapBusy(error);
    }
    if (!credentials || !matches) {
      await throttle.loginFailed(email, caller.ip);
      caller.log.info({ knownAccount: credentials !== undefined }, `${what} failed`);
      throw wrong ? wrongPassword(wrong) : unauthenticated(UnauthenticatedReason.BAD_CREDENTIALS);
    }
    return { user: credentials.user, settlement: throttle.loginSucceededParts(email, caller.ip) };
  }

  private payload(user: User, session: { sessionId: string; refreshToken: string }): AuthPayload {
    const access = this.deps.tokens.sign(user.id, session.sessionId);
    return {
      accessToken: access.token,
      refreshToken: session.refreshToken,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      user,
    };
  }
}

/** BAD_CREDENTIALS as the contract codes it, worded for a form that asked only for a password. */
const wrongPassword = (message: string) =>
  codedError(ErrorCode.UNAUTHENTICATED, message, { reason: UnauthenticatedReason.BAD_CREDENTIALS });

function mapBusy(error: unknown): unknown {
  return error instanceof QueueSaturatedError
    ? tooManyRequests(error.retryAfterSec, 'Server is busy, try again shortly')
    : error;
}

async function busyAsTooManyRequests<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw mapBusy(error);
  }
}
