import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isDatabaseOutage, maskUnexpectedErrors, withoutSuggestions } from './graphql-errors';

const formatted = (code?: string): GraphQLFormattedError => ({
  message: 'relation "auth.users" does not exist',
  path: ['me'],
  extensions: code ? { code, stacktrace: ['at x (y.ts:1:1)'] } : undefined,
});

function pgError(code: string, message = 'boom'): Error {
  return Object.assign(new Error(message), { code });
}

describe('maskUnexpectedErrors', () => {
  it('passes deliberate coded errors through untouched', () => {
    const error = new GraphQLError('bad email', { extensions: { code: 'BAD_USER_INPUT', field: 'email' } });
    const out = maskUnexpectedErrors(
      { message: 'bad email', extensions: { code: 'BAD_USER_INPUT', field: 'email' } },
      error,
    );
    expect(out.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
  });

  it('hides SQL and stack traces behind INTERNAL_SERVER_ERROR', () => {
    const out = maskUnexpectedErrors(
      formatted('INTERNAL_SERVER_ERROR'),
      pgError('42P01', 'relation "auth.users" does not exist'),
    );
    expect(out).toEqual({
      message: 'Internal server error',
      path: ['me'],
      locations: undefined,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('reports a database outage as SERVICE_UNAVAILABLE', () => {
    for (const error of [
      pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('08006'),
      Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' }),
      new Error('Connection terminated unexpectedly'),
    ]) {
      expect(isDatabaseOutage(error)).toBe(true);
      const out = maskUnexpectedErrors(formatted('INTERNAL_SERVER_ERROR'), error);
      expect(out.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
      expect(out.message).not.toMatch(/ECONNREFUSED|terminating|Knex/);
    }
  });

  it('does not mistake query errors for outages', () => {
    expect(isDatabaseOutage(pgError('23505'))).toBe(false);
    expect(isDatabaseOutage(pgError('42P01'))).toBe(false);
    expect(isDatabaseOutage('ECONNREFUSED')).toBe(false);
  });
});

describe('client errors Apollo raises without a code', () => {
  it('become BAD_REQUEST (an APQ hash that does not match its query)', () => {
    const error = new GraphQLError('provided sha does not match query', {
      extensions: { http: { status: 400 } },
    });
    const out = maskUnexpectedErrors(
      { message: 'provided sha does not match query', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      error,
    );
    expect(out).toEqual({
      message: 'provided sha does not match query',
      extensions: { code: 'BAD_REQUEST' },
    });
  });
});

describe('withoutSuggestions', () => {
  it('drops "Did you mean" from validation messages and leaves others alone', () => {
    expect(
      withoutSuggestions({
        message: 'Cannot query field "emial" on type "User". Did you mean "email" or "name"?',
      }).message,
    ).toBe('Cannot query field "emial" on type "User".');
    expect(withoutSuggestions({ message: 'Syntax Error: Expected Name' }).message).toBe(
      'Syntax Error: Expected Name',
    );
  });
});
