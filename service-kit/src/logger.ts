import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths that may carry secrets anywhere in a log record. Passwords and tokens must never reach a
 * log line, so they are censored at the logger rather than trusted to every call site.
 */
const REDACT_PATHS = [
  'password',
  '*.password',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'variables',
  '*.variables',
];

/** A service's logger: JSON lines to stdout, or to `destination` (a file path, written synchronously). */
export function createLogger(service: string, level: string, destination?: string): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, pino.destination({ dest: destination, sync: true })) : pino(options);
}
