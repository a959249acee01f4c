import type { ServerResponse } from 'node:http';
import DataLoader from 'dataloader';
import type { Authentication } from './auth';
import type { Services } from './services';
import type { Image, ImageStore } from './store/image-store';

export interface Context {
  auth: Authentication;
  services: Services;
  res: ServerResponse;
  /** The caller's images by id; other users' images load as null, exactly like absent ones. */
  ownImages: DataLoader<string, Image | null>;
}

export function ownImagesLoader(store: ImageStore, auth: Authentication): DataLoader<string, Image | null> {
  return new DataLoader(async (ids) => {
    if (auth.userId === undefined) return ids.map(() => null);
    const found = new Map((await store.findOwned(ids, auth.userId)).map((image) => [image.id, image]));
    return ids.map((id) => found.get(id) ?? null);
  });
}
