/**
 * Which process runs what, as one table. `workers: 1` is one process that does everything.
 * With several workers (supervisor/) the supervisor prepares the data folder once and forks
 * the workers; every worker runs the SMTP listeners (they share the sockets), and the first
 * worker (slot 0, kept across restarts) also runs the parts that must run once per node.
 */
import type { Config } from '../config/index.ts';

export type ProcessKind = 'single' | 'supervisor' | 'first-worker' | 'other-worker';

export interface ProcessRow {
  /** Schema, queue recovery (orphan bodies swept), default certificate: once, before any listener. */
  prepare: boolean;
  /** The SMTP listeners. */
  listeners: boolean;
  /** Outgoing delivery (one scheduler per node), when delivery.enabled. */
  delivery: boolean;
  /**
   * The local channel and what runs once per node with it: the HTTPS listener (send API, admin
   * API, console, client setup, /metrics with the queue's gauges), the sendmail socket, the drop
   * folder, webhook dispatch and the housekeeping jobs.
   */
  local: boolean;
}

export const PROCESSES: Readonly<Record<ProcessKind, Readonly<ProcessRow>>> = {
  single: { prepare: true, listeners: true, delivery: true, local: true },
  supervisor: { prepare: true, listeners: false, delivery: false, local: false },
  'first-worker': { prepare: false, listeners: true, delivery: true, local: true },
  'other-worker': { prepare: false, listeners: true, delivery: false, local: false },
};

/** The worker of a slot. */
export function workerKind(slot: number): ProcessKind {
  return slot === 0 ? 'first-worker' : 'other-worker';
}

/** What a process of this kind runs with this configuration (delivery only when enabled). */
export function partsOf(kind: ProcessKind, config: Pick<Config, 'delivery'>): ProcessRow {
  const row = PROCESSES[kind];
  return { ...row, delivery: row.delivery && config.delivery.enabled };
}
