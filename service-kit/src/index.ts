export * from './config';
export * from './errors';
export * from './graphql-errors';
export * from './http';
export * from './lifecycle';
export * from './logger';
export * from './metrics';
export * from './tokens';
