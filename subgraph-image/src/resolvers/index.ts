import { DateTime } from '@imagehub/service-kit';
import { GraphQLUpload } from 'graphql-upload-minimal';
import { Image } from './Image';
import { Mutation } from './Mutation';
import { Query } from './Query';
import { User } from './User';

export const resolvers = { DateTime, Upload: GraphQLUpload, Query, Mutation, Image, User };
