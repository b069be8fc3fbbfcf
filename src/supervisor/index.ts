/**
 * supervisor/: running `postern serve` as one process or as several worker processes that
 * share the listening sockets (node:cluster), so that TLS and SMTP use every core. Owns the
 * start-up order (prepare the data folder once, then listen), the per-IP counts shared by
 * all workers, the relay that adds up every worker's metrics for /metrics, restarts and shutdown.
 * What each worker runs is app/'s process table (app/processes.ts), read by slot; supervisor/
 * imports app/ and app/ never imports supervisor/. Never handles mail itself. Fails start-up
 * with the one line of the first worker that could not listen.
 * Imports: core, config, limits, listener, inject, app.
 */
import cluster from 'node:cluster';
import os from 'node:os';
import type { Config } from '../config/index.ts';

export { runPrimary } from './primary.ts';
export { runWorker } from './worker.ts';
export { WORKER_CONFIG_ENV } from './messages.ts';

export function resolveWorkers(workers: Config['workers']): number {
  return workers === 'auto' ? Math.max(1, os.availableParallelism()) : workers;
}

export const isWorkerProcess = () => cluster.isWorker;
