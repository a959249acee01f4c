export { createServer, type GatewayServer, type ServerOverrides } from './app';
export { type Config, loadConfig } from './config';
