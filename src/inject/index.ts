/**
 * inject/: mail that enters without SMTP: the HTTP send API, the local socket and the drop
 * folder of `postern sendmail`, and the sendmail command itself. Everything goes through one
 * injector that applies the same policy and limits as an SMTP AUTH session before intake.
 * Never bypasses intake or the store's limit check; fails with an SmtpError tagged with its
 * reason (a problem response, an exit code), and never loses a message it answered 2xx / 0 for.
 * Imports: core, config, observability, credentials, limits, policy, intake, bounce, store.
 */
export { createInjector, type Injector, type InjectRequest, type InjectResult, type InjectSender, type InjectChannel } from './injector.ts';
export { createSendApi, problemOf, type SendApiDeps } from './api.ts';
export { startLocalServers, WebBindError, type LocalServers } from './servers.ts';
export { ipAllowList, serverOps, type OpsDeps } from './ops.ts';
export { createPickup, prepareDropDir, passwdLookup, type Pickup } from './pickup.ts';
export { writeDrop, parseDrop, type DropEnvelope } from './drop.ts';
export { envelopeFields, readHeaderBlock, headerEnd } from './header.ts';
export { exitCodeOf, EX, type Problem } from './problem.ts';
