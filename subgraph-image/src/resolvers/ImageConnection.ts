import type { ImageConnectionResolvers } from '../generated/graphql';

export const ImageConnection: ImageConnectionResolvers = {
  totalCount: (connection) => connection.countAll(),
};
