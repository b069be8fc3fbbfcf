/**
 * observability/: the logger (pino JSON lines) and, later, every metric. Never changes
 * behaviour; a logging failure never fails a mail transaction.
 */
export * from './logger.ts';
