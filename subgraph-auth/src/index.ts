export { type AuthServer, createServer, type ServerOverrides } from './app';
export { type Config, loadConfig } from './config';
