export * from './create-transport';
export * from './envelope';
export * from './events';
export * from './inbox';
export * from './outbox';
export * from './postgres-transport';
export * from './rabbitmq-transport';
export * from './transport';
