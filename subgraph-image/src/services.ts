import type { Logger, RevocationList, TokenVerifier } from '@imagehub/service-kit';
import type { Bus } from './bus';
import type { Config } from './config';
import type { UrlSigner } from './signing';
import type { ImageStore } from './store/image-store';
import type { UploadService } from './upload/upload-service';

/** What resolvers and routes use, built once per process in app.ts. */
export interface Services {
  config: Config;
  logger: Logger;
  images: ImageStore;
  signer: UrlSigner;
  verifier: TokenVerifier;
  revocations: RevocationList;
  uploads: UploadService;
  /** The outbox relay and the transport (jobs, events). */
  bus: Bus;
}
