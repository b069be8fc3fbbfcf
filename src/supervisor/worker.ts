/** A worker process: runs every listener of the prepared configuration, asks the supervisor
 *  for per-IP and per-network connection slots, and stops when told to (or when the supervisor is gone). */
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { ConnectionGate, GateVerdict } from '../limits/index.ts';
import { BindError, WebBindError, partsOf, startListeners, workerKind } from '../app/index.ts';
import { WORKER_SLOT_ENV, type ToPrimary, type ToWorker } from './messages.ts';
import { createWorkerMetrics } from './metrics.ts';

function remoteGate(listener: string, pending: Map<number, (ok: GateVerdict) => void>, nextId: () => number): ConnectionGate {
  const send = (m: ToPrimary) => process.send?.(m);
  return {
    acquire(ip, known = false) {
      return new Promise((resolve) => {
        const id = nextId();
        pending.set(id, resolve);
        send({ t: 'gate-acquire', id, listener, ip, known });
      });
    },
    release(ip) {
      send({ t: 'gate-release', listener, ip });
    },
  };
}

export async function runWorker(config: Config, logger: Logger): Promise<void> {
  const pending = new Map<number, (ok: GateVerdict) => void>();
  let seq = 0;
  const send = (m: ToPrimary) => process.send?.(m);
  let server: Awaited<ReturnType<typeof startListeners>> | undefined;
  // what this worker runs: the process table (app/processes.ts) by its slot
  const kind = workerKind(Number(process.env[WORKER_SLOT_ENV] ?? -1));
  const delivery = partsOf(kind, config).delivery;
  const metrics = createWorkerMetrics(send);
  // answered before startListeners returns too (with nothing), so a scrape never waits on a starting worker
  process.on('message', (m: ToWorker) => {
    if (m.t === 'metrics-get') void metrics.answer(m.id, server?.metrics.registry ?? null);
    else if (m.t === 'metrics-all') metrics.gathered(m.id, m.metrics);
  });
  try {
    server = await startListeners(config, {
      logger,
      gateFor: (_l, name) => remoteGate(name, pending, () => ++seq),
      process: kind,
      // commits here wake the delivering worker through the supervisor (at most every 5 ms)
      onQueued: delivery ? undefined : throttle(() => send({ t: 'queued' }), 5),
      // /metrics (served by slot 0) adds up every worker's
      metricsOf: (own) => metrics.text(own),
    });
  } catch (err) {
    send({
      t: 'fatal',
      message: err instanceof BindError || err instanceof WebBindError ? err.message : `cannot start: ${(err as Error).message}`,
    });
    logger.flush();
    process.exit(1);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close().finally(() => {
      logger.flush();
      process.exit(0);
    });
  };
  process.on('message', (m: ToWorker) => {
    if (m.t === 'gate-result') {
      pending.get(m.id)?.(m.ok);
      pending.delete(m.id);
    } else if (m.t === 'kick') server.outbound?.kick();
    else if (m.t === 'stop') stop();
  });
  process.on('disconnect', stop); // the supervisor is gone
  // Signals go to the supervisor, which tells every worker to stop.
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  send({ t: 'ready' });
}

/** Calls fn at most once per `ms`, at the end of the interval. */
function throttle(fn: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | null = null;
  return () => {
    timer ??= setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
