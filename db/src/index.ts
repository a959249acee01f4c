export * from './channel-listener';
export * from './connection';
export * from './embedded';
export * from './free-port';
export * from './migrator';
export * from './prepared';
export * from './service-db';
