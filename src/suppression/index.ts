/**
 * suppression/: the suppression list at work after delivery: a recipient that hard-bounced at
 * a remote server is suppressed for its message's customer (after the results are written,
 * never inside the queue's transaction), and expired entries are pruned. The check at
 * submission is policy/'s. Never decides a delivery, never sends mail. A failed suppression is
 * logged (the next bounce adds it); a failed prune is logged and thrown to its timer.
 * Imports: core, observability, delivery, store.
 */
export { createBounceSuppressor, hardBounced, type SuppressorDeps } from './bounce.ts';
export { pruneSuppressions, PRUNE_EVERY_MS } from './prune.ts';
