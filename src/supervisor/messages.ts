/** What the supervisor and its worker processes say to each other over the cluster channel. */
import type { GateVerdict } from '../limits/index.ts';

/** One process's metrics as prom-client's getMetricsAsJSON gives them. */
export type MetricsJson = object[];

export type ToPrimary =
  | { t: 'gate-acquire'; id: number; listener: string; ip: string; known: boolean }
  | { t: 'gate-release'; listener: string; ip: string }
  | { t: 'ready' }
  /** Something was queued in a worker that does not deliver: wake the one that does. */
  | { t: 'queued' }
  | { t: 'fatal'; message: string }
  /** The serving worker wants every other worker's metrics (answered with metrics-all). */
  | { t: 'metrics-req'; id: number }
  /** A worker's answer to metrics-get. */
  | { t: 'metrics-res'; id: number; metrics: MetricsJson };

export type ToWorker =
  | { t: 'gate-result'; id: number; ok: GateVerdict }
  | { t: 'stop' }
  | { t: 'kick' }
  | { t: 'metrics-get'; id: number }
  | { t: 'metrics-all'; id: number; metrics: MetricsJson[] };

/** The prepared configuration reaches the workers through this variable, as JSON. */
export const WORKER_CONFIG_ENV = 'POSTERN_WORKER_CONFIG';
/** The worker's slot (0, 1, ...): slot 0 also delivers. */
export const WORKER_SLOT_ENV = 'POSTERN_WORKER_SLOT';
