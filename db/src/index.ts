export * from './connection';
export * from './embedded';
export * from './migrator';
export * from './service-db';
