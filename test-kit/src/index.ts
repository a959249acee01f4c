export { freePort } from '@imagehub/db';
export { eventually } from '@imagehub/service-kit';
export * from './graphql';
export * from './images';
export * from './multipart';
export * from './png-check';
