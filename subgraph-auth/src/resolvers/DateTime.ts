import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

/** ISO-8601 in UTC. Output only in this subgraph, but parsing is strict in case an argument ever uses it. */
export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'ISO-8601 string in UTC',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue(value) {
    return parseIso(value);
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO-8601 string');
    return parseIso(ast.value);
  },
});

function parseIso(value: unknown): Date {
  if (typeof value !== 'string' || value.length > 40)
    throw new GraphQLError('DateTime must be an ISO-8601 string');
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
  return date;
}
