import { GraphQLError } from 'graphql';
import {
  COMMON_PASSWORDS,
  checkNewPassword,
  checkPasswordLength,
  normalizeEmail,
  normalizeLoginEmail,
  normalizeName,
} from './input';

/** The error a validator throws, so tests can check code and field together. */
function rejection(fn: () => unknown): { code: unknown; field: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    const { extensions, message } = error as GraphQLError;
    return { code: extensions.code, field: extensions.field, message };
  }
  throw new Error('expected a rejection');
}

const context = { email: 'ada@example.test', name: 'Ada Lovelace' };

describe('common password list', () => {
  it('bundles at least 10,000 passwords from @zxcvbn-ts/language-common', () => {
    expect(COMMON_PASSWORDS.size).toBeGreaterThanOrEqual(10_000);
    expect(COMMON_PASSWORDS.has('password')).toBe(true);
  });
});

describe('new passwords (NIST SP 800-63B)', () => {
  it('accept 8 characters of anything, with no composition rules', () => {
    expect(() => checkNewPassword('zqxjkvbw', context)).not.toThrow();
    expect(() => checkNewPassword('🦄🦄🦄🦄🦄🦄🦄🦄', context)).not.toThrow();
  });

  it('reject fewer than 8 characters, counting characters rather than UTF-16 units', () => {
    expect(rejection(() => checkNewPassword('zqxjkvb', context))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'password',
    });
    // 7 emoji are 14 UTF-16 units but 7 characters.
    expect(rejection(() => checkNewPassword('🦄🦄🦄🦄🦄🦄🦄', context)).field).toBe('password');
  });

  it('accept exactly 72 bytes and reject 73, never truncating', () => {
    expect(() => checkNewPassword('q'.repeat(72), context)).not.toThrow();
    expect(rejection(() => checkNewPassword('q'.repeat(73), context)).field).toBe('password');
    // 24 three-byte characters are 72 bytes; one more ASCII letter makes 73 bytes in only 25 characters.
    const multibyte = '€'.repeat(24);
    expect(Buffer.byteLength(multibyte)).toBe(72);
    expect(() => checkNewPassword(multibyte, context)).not.toThrow();
    expect(Buffer.byteLength(`${multibyte}x`)).toBe(73);
    expect(rejection(() => checkNewPassword(`${multibyte}x`, context)).message).toMatch(/72 bytes/);
    expect(() => checkPasswordLength(`${multibyte}x`)).toThrow(GraphQLError);
  });

  it('reject common passwords in any letter case', () => {
    for (const common of ['password', 'Password1', 'QWERTYUIOP', 'iloveyou', '12345678']) {
      expect(rejection(() => checkNewPassword(common, context))).toMatchObject({
        field: 'password',
        message: expect.stringMatching(/common/),
      });
    }
  });

  it('reject the email or the name as password, in any letter case', () => {
    expect(rejection(() => checkNewPassword('ADA@example.test', context)).message).toMatch(/email or name/);
    expect(rejection(() => checkNewPassword('ada lovelace', context)).message).toMatch(/email or name/);
  });
});

describe('emails', () => {
  it('are trimmed and lower-cased', () => {
    expect(normalizeEmail('  Ada.Lovelace@Example.TEST ')).toBe('ada.lovelace@example.test');
  });

  it('must be addresses of at most 254 characters', () => {
    for (const bad of ['', 'ada', 'ada@', '@example.test', "' OR 1=1 --", 'a b@example.test']) {
      expect(rejection(() => normalizeEmail(bad))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    }
    expect(rejection(() => normalizeEmail(`${'a'.repeat(250)}@example.test`)).message).toMatch(/too long/);
    expect(rejection(() => normalizeEmail('a'.repeat(1_000_000))).message).toMatch(/too long/);
  });

  it('at login are bounded but not format-checked (a malformed one is just an unknown account)', () => {
    expect(normalizeLoginEmail(" ' OR 1=1 -- ")).toBe("' or 1=1 --");
    expect(rejection(() => normalizeLoginEmail('x'.repeat(300))).field).toBe('email');
  });
});

describe('control characters', () => {
  it('are refused in an email, at registration and at login (Postgres refuses NUL outright)', () => {
    expect(rejection(() => normalizeEmail('ada\u0000@example.com')).field).toBe('email');
    expect(rejection(() => normalizeLoginEmail('ada\u0000@example.com')).field).toBe('email');
    expect(rejection(() => normalizeLoginEmail('ada@example.com\u0007')).field).toBe('email');
  });
});

describe('names', () => {
  it('lose control, bidi-override and zero-width characters, as filenames do', () => {
    expect(normalizeName('Ada\u0000 Love\u202elace\u200b')).toBe('Ada Lovelace');
    expect(rejection(() => normalizeName('\u200b\u200d\u202e\u0000')).field).toBe('name');
  });

  it('are trimmed and 1 to 100 characters', () => {
    expect(normalizeName('  Ada  ')).toBe('Ada');
    expect(normalizeName('é'.repeat(100))).toHaveLength(100);
    expect(rejection(() => normalizeName('   '))).toMatchObject({ field: 'name' });
    expect(rejection(() => normalizeName('x'.repeat(101))).field).toBe('name');
    expect(rejection(() => normalizeName(' '.repeat(1_000_000))).field).toBe('name');
  });
});
