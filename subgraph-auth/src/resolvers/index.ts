import { DateTime } from '@imagehub/service-kit';
import type { Resolvers } from '../generated/graphql';
import { Mutation } from './Mutation';
import { Query } from './Query';
import { User } from './User';

export const resolvers: Resolvers = { DateTime, Query, Mutation, User };
