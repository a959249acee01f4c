export { createServer, type ImageServer, type ServerOverrides } from './app';
export { type Config, loadConfig } from './config';
export { UrlSigner } from './signing';
