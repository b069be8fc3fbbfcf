/**
 * A prom-client counter registered in the given registry, or a no-op without one. prom-client is
 * loaded only by a process that exports metrics, not by every CLI command that reaches this
 * folder through the admin service (it costs ~35 ms of start-up).
 */
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';

export interface CounterSpec {
  name: string;
  help: string;
  labelNames?: string[];
}
export interface SimpleCounter {
  inc(labelsOrValue?: Record<string, string> | number, value?: number): void;
}

export function registeredCounter(registry: Registry | undefined, spec: CounterSpec): SimpleCounter {
  if (!registry) return { inc: () => {} };
  const { Counter } = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  const c = new Counter({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] });
  return {
    inc: (labelsOrValue, value) => (typeof labelsOrValue === 'object' ? c.inc(labelsOrValue, value ?? 1) : c.inc(labelsOrValue ?? 1)),
  };
}
