/**
 * /metrics over several worker processes: the worker that serves the web listener asks the
 * supervisor for the metrics of the others, which asks each of them over the cluster channel,
 * and adds them up with its own (prom-client's AggregatorRegistry.aggregate: counters and
 * histograms are summed, gauges as each declares). A worker that does not answer within
 * RELAY_TIMEOUT_MS is left out of that scrape (its counters seem to drop until the next one).
 */
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsJson, ToPrimary, ToWorker } from './messages.ts';

export const RELAY_TIMEOUT_MS = 2000;

/** Worker side: the aggregated text for the serving worker, and the answers to the supervisor. */
export function createWorkerMetrics(send: (m: ToPrimary) => void) {
  const pending = new Map<number, (metrics: MetricsJson[]) => void>();
  let seq = 0;
  return {
    /** This worker's metrics and every other worker's, added up. */
    async text(own: Registry): Promise<string> {
      const id = ++seq;
      const others = new Promise<MetricsJson[]>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve([]);
        }, RELAY_TIMEOUT_MS + 500);
        pending.set(id, (m) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(m);
        });
        send({ t: 'metrics-req', id });
      });
      const [mine, rest] = await Promise.all([own.getMetricsAsJSON(), others]);
      return AggregatorRegistry.aggregate([mine, ...rest]).metrics();
    },
    /** The supervisor's answer to a `text` request. */
    gathered(id: number, metrics: MetricsJson[]): void {
      pending.get(id)?.(metrics);
    },
    /** The supervisor asks for this worker's metrics (null: not started yet). */
    async answer(id: number, own: Registry | null): Promise<void> {
      send({ t: 'metrics-res', id, metrics: own ? ((await own.getMetricsAsJSON()) as MetricsJson) : [] });
    },
  };
}

/** Supervisor side: gathers the metrics of every worker but the asking one. */
export function createMetricsGatherer(workers: () => Worker[], send: (w: Worker, m: ToWorker) => void) {
  const open = new Map<number, { waiting: Set<number>; got: MetricsJson[]; finish: () => void }>();
  let seq = 0;
  return {
    request(from: Worker, id: number): void {
      const others = workers().filter((w) => w !== from && w.isConnected());
      const got: MetricsJson[] = [];
      if (!others.length) return send(from, { t: 'metrics-all', id, metrics: got });
      const rid = ++seq;
      const timer = setTimeout(() => finish(), RELAY_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        open.delete(rid);
        send(from, { t: 'metrics-all', id, metrics: got });
      };
      open.set(rid, { waiting: new Set(others.map((w) => w.id)), got, finish });
      for (const w of others) send(w, { t: 'metrics-get', id: rid });
    },
    response(from: Worker, rid: number, metrics: MetricsJson): void {
      const r = open.get(rid);
      if (!r || !r.waiting.delete(from.id)) return;
      r.got.push(metrics);
      if (!r.waiting.size) r.finish();
    },
  };
}
