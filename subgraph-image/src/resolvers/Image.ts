import { isUuid } from '@imagehub/service-kit';
import { requireUser } from '../auth';
import type { Context } from '../context';
import type { Image as ImageModel } from '../store/image-store';

export const Image = {
  /** Federation entry point: the same ownership rule as Query.image, so other users' images are null. */
  async __resolveReference(ref: { id: string }, ctx: Context): Promise<ImageModel | null> {
    requireUser(ctx.auth);
    if (!isUuid(ref.id)) return null;
    return ctx.ownImages.load(ref.id.toLowerCase());
  },
  url: (image: ImageModel, _: unknown, ctx: Context) => ctx.services.signer.url(image.id, 'original'),
  thumbnailUrl: (image: ImageModel, _: unknown, ctx: Context) =>
    ctx.services.signer.url(image.id, 'thumbnail'),
  /** A reference only: the auth subgraph owns User and fills in its fields through the gateway. */
  owner: (image: ImageModel) => ({ __typename: 'User', id: image.ownerId }),
};
