import { GraphQLScalarType, Kind } from 'graphql';
import { GraphQLUpload } from 'graphql-upload-minimal';
import { Image } from './Image';
import { Mutation } from './Mutation';
import { Query } from './Query';
import { User } from './User';

/** ISO-8601 in UTC on the way out; accepted as an ISO string on the way in. */
const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString(),
  parseValue: (value) => new Date(String(value)),
  parseLiteral: (ast) => (ast.kind === Kind.STRING ? new Date(ast.value) : null),
});

export const resolvers = { DateTime, Upload: GraphQLUpload, Query, Mutation, Image, User };
