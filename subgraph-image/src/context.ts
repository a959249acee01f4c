import type { ServerResponse } from 'node:http';
import { badUserInput } from '@imagehub/service-kit';
import DataLoader from 'dataloader';
import type { Authentication } from './auth';
import type { Services } from './services';
import type { Image, ImageStore } from './store/image-store';

export interface Context {
  auth: Authentication;
  services: Services;
  res: ServerResponse;
  /** Aborted when the client closes the connection before its answer: work for it stops, nothing is stored. */
  clientGone: AbortSignal;
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

/** A signal that aborts when the response is closed before it was completely sent. */
export function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    // Coded like an upload cut short mid-file: nobody is left to read it, but the logs stay quiet.
    if (!res.writableFinished) controller.abort(badUserInput('file', 'The client closed the connection'));
  });
  return controller.signal;
}
