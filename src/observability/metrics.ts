/**
 * Metrics in Prometheus's text format (prom-client), one registry per process. Names are
 * stable and documented in docs/operations.md ("Metrics"); so far the content scanner's.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** Messages per scan result: scanned, skipped (too large), failed, bypassed (not scanned: failure policy or breaker). */
  scanMessages: Counter<'result'>;
  /** Scanned messages per action taken: accept, header, hold, defer, reject. */
  scanActions: Counter<'action'>;
  /** 1 while the scanner's circuit breaker is open. */
  scanBreakerOpen: Gauge;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  return {
    registry,
    scanMessages: new Counter({ name: 'postern_scan_messages_total', help: 'Messages by content-scan result: scanned, skipped (too large), failed, bypassed (not scanned).', labelNames: ['result'], registers: [registry] }),
    scanActions: new Counter({ name: 'postern_scan_actions_total', help: 'Scanned messages by the action taken: accept, header, hold, defer, reject.', labelNames: ['action'], registers: [registry] }),
    scanBreakerOpen: new Gauge({ name: 'postern_scan_breaker_open', help: '1 while the content scanner is not asked (its circuit breaker is open).', registers: [registry] }),
  };
}
