import { DateTime } from '@imagehub/service-kit';
import { GraphQLUpload } from 'graphql-upload-minimal';
import type { Resolvers } from '../generated/graphql';
import { Image } from './Image';
import { ImageConnection } from './ImageConnection';
import { Mutation } from './Mutation';
import { Query } from './Query';
import { User } from './User';

export const resolvers: Resolvers = {
  DateTime,
  Upload: GraphQLUpload,
  Query,
  Mutation,
  Image,
  ImageConnection,
  User,
};
