/**
 * core/model/: the entity types every layer names (tenants, access, queue, sending, tracking,
 * webhooks). Only types and a few constants: the store implements repositories of them, but
 * the words are not the store's. Imports nothing outside core/model/.
 */
export * from './tenants.ts';
export * from './access.ts';
export * from './queue.ts';
export * from './sending.ts';
export * from './tracking.ts';
export * from './webhooks.ts';
