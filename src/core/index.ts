/**
 * core/: pure types and helpers shared by every folder: SMTP replies, addresses, ids, clock,
 * reading a request body with a bound, and the entity types every layer names (model/:
 * customer, domain, mailbox, grant, site, queued message, recipient, attempt, tracking and
 * webhook records). The store implements repositories of them but does not own the words.
 * Never opens files or sockets and never imports another folder of Postern. Fails only by
 * returning null (invalid input) or throwing on programmer errors.
 * Imports: nothing.
 */
export * from './reply.ts';
export * from './address.ts';
export * from './ids.ts';
export * from './clock.ts';
export * from './date.ts';
export * from './hostport.ts';
export * from './body.ts';
export * from './control.ts';
export * from './model/index.ts';
