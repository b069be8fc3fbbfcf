/**
 * app/: the top floor, the only place that knows every part: the wiring of a server from a
 * configuration (server.ts, core.ts), outgoing delivery's wiring (outbound.ts), the web
 * listener and its mounts (web.ts, ops.ts), the local channel (local.ts), the timed
 * housekeeping jobs declared as `every(name, interval, fn)` (housekeeping.ts, jobs.ts), parts
 * started in order and stopped in reverse (lifecycle.ts), and which process runs what
 * (processes.ts; supervisor/ reads it). No rule lives here: every decision about mail is in the
 * folder that owns it. Fails start-up with the error of the first part that could not start
 * (a BindError or WebBindError names the port and the remedy), after stopping the parts already
 * started.
 * Imports: core, config, observability, credentials, limits, containment, spool, store, queue, intake, listener, delivery, bounce, dkim, scan, webhooks, inject, clientsetup, reputation, retention, suppression, admin/api, admin/ui.
 */
export { prepareDataDir, startListeners, startServer, lockoutPolicyOf, type RunningServer, type StartOptions } from './server.ts';
export { createOutbound, type Outbound, type OutboundDeps } from './outbound.ts';
export { PROCESSES, partsOf, workerKind, type ProcessKind, type ProcessRow } from './processes.ts';
export { createWebApp, type WebMounts } from './web.ts';
export type { LocalServers } from './local.ts';
export { WebBindError } from '../inject/index.ts';
export { BindError } from '../listener/index.ts';
