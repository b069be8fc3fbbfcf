/**
 * retention/: the timed deletion of rows past their keeping time: message tracking
 * (tracking.retentionDays, tracking.maxBytes) and console sessions. Only the store's own prune
 * calls; never decides what is kept (the configuration does) and never runs a timer (app/'s
 * housekeeping does). Logs each failure and throws it to its timer.
 * Imports: core, store.
 */
export { pruneTracking, pruneConsoleSessions, type RetentionDeps } from './prune.ts';
