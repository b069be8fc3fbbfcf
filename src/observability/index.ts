/**
 * observability/: the logger (pino JSON lines) and the metrics (Prometheus text format). Never
 * changes behaviour; a logging or metrics failure never fails a mail transaction.
 */
export * from './logger.ts';
export * from './metrics.ts';
