/**
 * listener/: the protocol edge on smtp-server, one server per configured listener. Owns TLS
 * contexts (SNI, reload), the greeting delay and the per-IP connection gate; hooks call
 * credentials, policy and intake. Never holds a business rule. Fails closed: an error in a
 * hook becomes 451 4.3.0 (or 454 4.7.0 for AUTH), never an accept or a stack trace.
 * Imports: core, config, observability, credentials, limits, containment, policy, intake.
 */
export * from './server.ts';
export * from './tls.ts';
export { ensureSelfSigned, fingerprint } from './selfsigned.ts';
