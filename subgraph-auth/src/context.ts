import type { Logger } from '@imagehub/service-kit';
import DataLoader from 'dataloader';
import type { AuthService } from './auth/auth-service';
import type { User, UserStore } from './store/users';

/** Per request: who is calling, and loaders whose batches and caches live only as long as the request. */
export interface Context {
  ip: string;
  log: Logger;
  /** The raw `Authorization` header: missing and malformed are different reasons (TOKEN_MISSING, TOKEN_INVALID). */
  authorization: string | undefined;
  /** The client's User-Agent (forwarded by the gateway), kept with the sessions it opens. */
  userAgent: string | undefined;
  auth: AuthService;
  loaders: { userById: DataLoader<string, User | null> };
}

export function createLoaders(users: UserStore): Context['loaders'] {
  return {
    userById: new DataLoader<string, User | null>(
      async (ids) => {
        const found = new Map((await users.findByIds(ids)).map((user) => [user.id, user]));
        return ids.map((id) => found.get(id) ?? null);
      },
      // A gateway batch can carry many representations; keep each query's IN list sane.
      { maxBatchSize: 500 },
    ),
  };
}
