import { badUserInput, printableText } from '@imagehub/service-kit';
import { dictionary } from '@zxcvbn-ts/language-common';
import { z } from 'zod';
import { REFRESH_TOKEN_PATTERN } from '../store/sessions';

export const PASSWORD_MIN_CHARS = 8;
/** bcrypt reads at most 72 bytes; anything longer is refused rather than silently cut. */
export const PASSWORD_MAX_BYTES = 72;
export const EMAIL_MAX_CHARS = 254;
export const NAME_MAX_CHARS = 100;
/** Refresh tokens are 43 characters; anything far longer is not worth a hash or a query. */
export const REFRESH_TOKEN_MAX_CHARS = 256;
/** Before trimming, a name may carry some surrounding whitespace, but not megabytes of it. */
const RAW_NAME_MAX_CHARS = 4 * NAME_MAX_CHARS;

/**
 * The zxcvbn-ts common-password dictionary (about 49,000 entries from real breaches), all lower
 * case, so lookups lower-case the candidate: "Password1" is as guessable as "password1".
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(dictionary['passwords-common']);

const emailSchema = z.email();
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Trims and lower-cases an email; BAD_USER_INPUT (field "email") when too long or not an address. */
export function normalizeEmail(raw: string): string {
  if (raw.length > EMAIL_MAX_CHARS + 64) throw badUserInput('email', 'Email is too long');
  const email = raw.trim().toLowerCase();
  if (email.length > EMAIL_MAX_CHARS) throw badUserInput('email', 'Email is too long');
  if (CONTROL_CHARACTERS.test(email) || !emailSchema.safeParse(email).success)
    throw badUserInput('email', 'Email is not a valid address');
  return email;
}

/**
 * For login: the same bounds but no format check, so a malformed address is simply an unknown
 * account (same error as a wrong password) rather than a different answer. Control characters are
 * the exception: no stored address has one (and Postgres refuses NUL outright), so they are refused
 * up front, before the throttle counts the attempt.
 */
export function normalizeLoginEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (raw.length > EMAIL_MAX_CHARS + 64 || email.length > EMAIL_MAX_CHARS) {
    throw badUserInput('email', 'Email is too long');
  }
  if (CONTROL_CHARACTERS.test(email))
    throw badUserInput('email', 'Email must not contain control characters');
  return email;
}

/** The filename rule (service-kit's printableText): no controls, bidi overrides or invisible-only names. */
export function normalizeName(raw: string): string {
  if (raw.length > RAW_NAME_MAX_CHARS)
    throw badUserInput('name', `Name must be at most ${NAME_MAX_CHARS} characters`);
  const name = printableText(raw);
  if (name.length === 0) throw badUserInput('name', 'Name must have at least one printable character');
  if ([...name].length > NAME_MAX_CHARS) {
    throw badUserInput('name', `Name must be at most ${NAME_MAX_CHARS} characters`);
  }
  return name;
}

/** The byte bound alone, for login: a longer password cannot match and must never reach bcrypt. */
export function checkPasswordLength(password: string, field = 'password'): void {
  // Cheap first: more UTF-16 units than 72 always means more than 72 UTF-8 bytes.
  if (password.length > PASSWORD_MAX_BYTES || Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    throw badUserInput(field, `Password must be at most ${PASSWORD_MAX_BYTES} bytes (UTF-8)`);
  }
}

/** NIST SP 800-63B: length and a blocklist, no composition rules. */
export function checkNewPassword(
  password: string,
  context: { email: string; name: string },
  field = 'password',
): void {
  checkPasswordLength(password, field);
  if ([...password].length < PASSWORD_MIN_CHARS) {
    throw badUserInput(field, `Password must be at least ${PASSWORD_MIN_CHARS} characters`);
  }
  const lowered = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered)) {
    throw badUserInput(field, 'Password is too common; choose a less guessable one');
  }
  if (lowered === context.email.toLowerCase() || lowered === context.name.toLowerCase()) {
    throw badUserInput(field, 'Password must not be your email or name');
  }
}

/**
 * Whether a value can be a refresh token at all, decided without a hash or a query: the length
 * first (a cheap exit before anything reads a long value), then the token's shape. Anything else
 * is simply a token that does not exist, and is answered as one (api-contract.graphql:
 * REFRESH_TOKEN_INVALID from refreshToken, `true` from logout), not as bad input: an access token
 * sent by mistake is the usual case, and it is no more "input" to fix than an unknown token.
 */
export function canBeRefreshToken(token: string): boolean {
  return token.length <= REFRESH_TOKEN_MAX_CHARS && REFRESH_TOKEN_PATTERN.test(token);
}
