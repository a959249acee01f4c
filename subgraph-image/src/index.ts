export { createServer, type ImageServer, type ServerOverrides } from './app';
export { type Config, loadConfig } from './config';
export { USER_DELETED_QUEUE } from './events/user-deleted';
export { UrlSigner } from './signing';
