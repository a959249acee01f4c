import { GraphQLError, Kind } from 'graphql';
import { DateTime, isUuid } from './scalars';

describe('DateTime', () => {
  it('serializes dates (and date strings) as ISO-8601 in UTC', () => {
    expect(DateTime.serialize(new Date(Date.UTC(2026, 10, 24, 12, 0, 0)))).toBe('2026-11-24T12:00:00.000Z');
    expect(DateTime.serialize('2026-11-24T13:00:00+01:00')).toBe('2026-11-24T12:00:00.000Z');
    expect(() => DateTime.serialize('not a date')).toThrow(GraphQLError);
  });

  it('parses ISO strings strictly: a bad value is an error, never null or an Invalid Date', () => {
    expect(DateTime.parseValue('2026-11-24T12:00:00Z')).toEqual(new Date('2026-11-24T12:00:00Z'));
    expect(DateTime.parseLiteral({ kind: Kind.STRING, value: '2026-11-24T12:00:00Z' })).toEqual(
      new Date('2026-11-24T12:00:00Z'),
    );
    expect(() => DateTime.parseValue('yesterday')).toThrow('DateTime must be an ISO-8601 string');
    expect(() => DateTime.parseValue(1_700_000_000_000)).toThrow(GraphQLError);
    expect(() => DateTime.parseValue('2026-11-24T12:00:00Z'.repeat(3))).toThrow(GraphQLError);
    expect(() => DateTime.parseLiteral({ kind: Kind.INT, value: '5' })).toThrow(GraphQLError);
  });
});

describe('isUuid', () => {
  it('accepts UUIDs in either case and nothing else', () => {
    expect(isUuid('0b7e6f1c-2f4a-4c55-9d3e-6a1b2c3d4e5f')).toBe(true);
    expect(isUuid('0B7E6F1C-2F4A-4C55-9D3E-6A1B2C3D4E5F')).toBe(true);
    for (const value of ['', 'not-a-uuid', '0b7e6f1c-2f4a-4c55-9d3e-6a1b2c3d4e5', "1' or '1'='1", 42, null]) {
      expect(isUuid(value)).toBe(false);
    }
  });
});
