import { isUuid } from '@imagehub/service-kit';
import { requireUser } from '../auth';
import type { ImageResolvers } from '../generated/graphql';

export const Image: ImageResolvers = {
  /** Federation entry point: the same ownership rule as Query.image, so other users' images are null. */
  async __resolveReference(ref, ctx) {
    requireUser(ctx.auth);
    if (!isUuid(ref.id)) return null;
    return ctx.ownImages.load(ref.id.toLowerCase());
  },
  url: (image, _, ctx) => ctx.services.signer.url(image.id, 'original'),
  thumbnailUrl: (image, _, ctx) => ctx.services.signer.url(image.id, 'thumbnail'),
  /** A reference only: the auth subgraph owns User and fills in its fields through the gateway. */
  owner: (image) => ({ __typename: 'User', id: image.ownerId }),
};
