/**
 * inject/: mail that enters without SMTP: the HTTP send API (mounted by app/'s web listener,
 * and served on the local socket), the local socket and the drop folder of `postern sendmail`,
 * and the sendmail command itself. Everything goes through one injector that applies the same
 * policy and limits as an SMTP AUTH session before intake. Never bypasses intake or the store's
 * limit check, and never imports admin/ or clientsetup/ (the web listener that mounts them is
 * app/'s); fails with an SmtpError tagged with its reason (a problem response, an exit code), a
 * socket it cannot bind with a WebBindError, and never loses a message it answered 2xx / 0 for.
 * Imports: core, config, observability, credentials, limits, containment, policy, intake, bounce, store.
 */
export { createInjector, type Injector, type InjectRequest, type InjectResult, type InjectSender, type InjectChannel } from './injector.ts';
export { createSendApi, problemOf, type SendApiDeps, type Env } from './api.ts';
export { startSendmailSocket, type SendmailSocket } from './socket.ts';
export { WebBindError, listenOn, closeServer } from './bind.ts';
export { createPickup, prepareDropDir, passwdLookup, type Pickup } from './pickup.ts';
export { writeDrop, parseDrop, type DropEnvelope } from './drop.ts';
export { envelopeFields, readHeaderBlock, headerEnd } from './header.ts';
export { exitCodeOf, EX, problem, type Problem } from './problem.ts';
export { sendApiOperation } from './json-message.ts';
