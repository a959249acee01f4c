import { DateTime } from '@imagehub/service-kit';
import { Mutation } from './Mutation';
import { Query } from './Query';
import { User } from './User';

export const resolvers = { DateTime, Query, Mutation, User };
