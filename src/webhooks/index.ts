/**
 * webhooks/: signed event notifications to customers' HTTPS endpoints. Owns the events
 * (delivered, first deferral, bounced, held, limit-reached, ping), the emitter that buffers them
 * into the store's outbox without slowing mail, the dispatcher that sends the outbox with
 * retries, and the signature (with a verifier customers can copy). Never blocks or fails an SMTP
 * transaction: a failure to record an event is logged and counted; a failure to send one is
 * retried with backoff and then marked failed in the delivery log.
 * Imports: core, config, credentials, limits, store.
 */
export * from './signature.ts';
export * from './backoff.ts';
export * from './url.ts';
export * from './guard.ts';
export * from './events.ts';
export * from './emitter.ts';
export * from './dispatcher.ts';
