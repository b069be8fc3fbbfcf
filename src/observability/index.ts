/**
 * observability/: the logger (pino JSON lines), the metrics (Prometheus text format) and the
 * readiness checks (/readyz). Never changes behaviour; a logging or metrics failure never
 * fails a mail transaction.
 * Imports: core.
 */
export * from './logger.ts';
export * from './metrics.ts';
export * from './health.ts';
