import type { Knex } from '@imagehub/db';
import {
  authenticateBearer,
  badUserInput,
  type Logger,
  tooManyRequests,
  UnauthenticatedReason,
  unauthenticated,
} from '@imagehub/service-kit';
import { REFRESH_TOKEN_PATTERN, type SessionStore } from '../store/sessions';
import { DuplicateEmailError, type User, type UserStore } from '../store/users';
import type { AccessTokenIssuer } from './access-tokens';
import { QueueSaturatedError } from './bounded-queue';
import {
  checkNewPassword,
  checkPasswordLength,
  checkRefreshTokenLength,
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

/** Who is asking: the client address (for throttling) and the request's logger. */
export interface Caller {
  ip: string;
  log: Logger;
}

export interface AuthServiceDeps {
  db: Knex;
  users: UserStore;
  sessions: SessionStore;
  hasher: PasswordHasher;
  tokens: AccessTokenIssuer;
  throttle: Throttle;
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
      const { user, refreshToken } = await db.transaction(async (trx) => {
        const created = await users.create({ email, name, passwordHash }, trx);
        return { user: created, refreshToken: await sessions.open(created.id, trx) };
      });
      caller.log.info({ userId: user.id }, 'user registered');
      return this.payload(user, refreshToken);
    } catch (error) {
      if (error instanceof DuplicateEmailError) throw badUserInput('email', EMAIL_TAKEN);
      throw error;
    }
  }

  async login(args: { email: string; password: string }, caller: Caller): Promise<AuthPayload> {
    const email = normalizeLoginEmail(args.email);
    checkPasswordLength(args.password);
    const { users, sessions, hasher, throttle } = this.deps;

    const charge = await throttle.chargeLogin(email, caller.ip);
    const credentials = await users.findCredentialsByEmail(email);
    let matches: boolean;
    try {
      matches = await hasher.verify(args.password, credentials?.passwordHash);
    } catch (error) {
      if (error instanceof QueueSaturatedError) await throttle.refundLogin(email, caller.ip, charge);
      throw mapBusy(error);
    }
    if (!credentials || !matches) {
      await throttle.loginFailed(email, caller.ip);
      caller.log.info({ knownAccount: credentials !== undefined }, 'login failed');
      throw unauthenticated(UnauthenticatedReason.BAD_CREDENTIALS);
    }
    await throttle.loginSucceeded(email, caller.ip);
    const refreshToken = await sessions.open(credentials.user.id);
    caller.log.info({ userId: credentials.user.id }, 'user logged in');
    return this.payload(credentials.user, refreshToken);
  }

  async refresh(token: string, caller: Caller): Promise<AuthPayload> {
    checkRefreshTokenLength(token);
    // A token that is not even well-formed cannot exist: refused without a query or a counter write.
    if (!REFRESH_TOKEN_PATTERN.test(token))
      throw unauthenticated(UnauthenticatedReason.REFRESH_TOKEN_INVALID);
    const { users, sessions, throttle } = this.deps;
    await throttle.chargeRefresh(caller.ip);
    const result = await sessions.rotate(token);
    if (result.outcome === 'reused') {
      caller.log.warn(
        { userId: result.userId, sessionId: result.sessionId },
        'used refresh token presented again; session revoked',
      );
    }
    if (result.outcome !== 'rotated') throw unauthenticated(UnauthenticatedReason.REFRESH_TOKEN_INVALID);
    await throttle.refreshSucceeded(caller.ip);
    const [user] = await users.findByIds([result.userId]);
    if (!user) throw unauthenticated(UnauthenticatedReason.REFRESH_TOKEN_INVALID);
    return this.payload(user, result.refreshToken);
  }

  /**
   * Always true, for unknown, used and already-revoked tokens alike: logging out twice is not an
   * error, and the answer reveals nothing about which tokens exist.
   */
  async logout(token: string): Promise<boolean> {
    checkRefreshTokenLength(token);
    await this.deps.sessions.revokeByToken(token);
    return true;
  }

  /** The user id in a valid access token; UNAUTHENTICATED with the reason otherwise. */
  async authenticate(authorization: string | undefined): Promise<string> {
    const caller = await authenticateBearer(authorization, this.deps.tokens.verifier);
    if (caller.reason) throw unauthenticated(caller.reason);
    return caller.userId;
  }

  private payload(user: User, refreshToken: string): AuthPayload {
    const access = this.deps.tokens.sign(user.id);
    return {
      accessToken: access.token,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      user,
    };
  }
}

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
