/**
 * The supervisor: prepares the data folder once, forks the worker processes that share the
 * listening sockets (node:cluster), holds the per-IP connection counts for all of them,
 * restarts a worker that dies, and stops them all on SIGTERM/SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { createCounter, type CountingGate } from '../limits/index.ts';
import { prepareDataDir } from '../app/index.ts';
import { WORKER_CONFIG_ENV, WORKER_SLOT_ENV, type ToPrimary, type ToWorker } from './messages.ts';
import { createMetricsGatherer } from './metrics.ts';

const MAX_RESTARTS_PER_MINUTE = 5;

export async function runPrimary(config: Config, workers: number, logger: Logger, onFatal: (message: string) => void): Promise<void> {
  const prepared = await prepareDataDir(config, logger);
  const gates = new Map<string, CountingGate>();
  for (const l of prepared.listeners) gates.set(`${l.role}:${l.port}`, createCounter(l.maxConnectionsPerIp, l.maxConnectionsPerNetwork));
  const held = new Map<number, Map<string, number>>(); // worker id -> "listener|ip" -> count
  const restarts: number[] = [];
  const slots = new Map<number, Worker>();
  let stopping = false;
  let failed = false;
  let readyCount = 0;

  const send = (w: Worker, m: ToWorker) => {
    if (w.isConnected()) w.send(m);
  };
  const metrics = createMetricsGatherer(() => [...slots.values()], send);
  const releaseAll = (id: number) => {
    for (const [key, n] of held.get(id) ?? []) {
      const [listener, ip] = splitKey(key);
      for (let i = 0; i < n; i++) gates.get(listener)?.release(ip);
    }
    held.delete(id);
  };

  // Slot 0 is the first worker of the process table (app/processes.ts: it also delivers and serves
  // the local channel); a restarted worker keeps its slot.
  function fork(slot: number): Worker {
    const w = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(prepared), [WORKER_SLOT_ENV]: String(slot) });
    slots.set(slot, w);
    held.set(w.id, new Map());
    let ready = false;
    w.on('message', (m: ToPrimary) => {
      const mine = held.get(w.id)!;
      switch (m.t) {
        case 'gate-acquire': {
          const ok = gates.get(m.listener)?.tryAcquire(m.ip, m.known) ?? 'ok';
          if (ok === 'ok') mine.set(`${m.listener}|${m.ip}`, (mine.get(`${m.listener}|${m.ip}`) ?? 0) + 1);
          send(w, { t: 'gate-result', id: m.id, ok });
          break;
        }
        case 'gate-release': {
          const key = `${m.listener}|${m.ip}`;
          const n = mine.get(key) ?? 0;
          if (n > 0) {
            gates.get(m.listener)?.release(m.ip);
            if (n === 1) mine.delete(key);
            else mine.set(key, n - 1);
          }
          break;
        }
        case 'queued': {
          const deliverer = slots.get(0);
          if (deliverer && deliverer !== w) send(deliverer, { t: 'kick' });
          break;
        }
        case 'ready':
          ready = true;
          logger.info({ evt: 'worker', worker: w.id, pid: w.process.pid, state: 'ready' }, 'worker ready');
          if (++readyCount === workers) logger.info({ evt: 'ready', workers }, 'all workers listening');
          break;
        case 'metrics-req':
          metrics.request(w, m.id);
          break;
        case 'metrics-res':
          metrics.response(w, m.id, m.metrics);
          break;
        case 'fatal':
          failed = true;
          onFatal(m.message);
          stopAll();
          break;
      }
    });
    w.on('exit', (code, signal) => {
      releaseAll(w.id);
      if (stopping || failed) return;
      logger.error({ evt: 'worker', worker: w.id, code, signal, wasReady: ready }, 'worker died; starting another');
      const now = Date.now();
      restarts.push(now);
      while (restarts.length && restarts[0] < now - 60_000) restarts.shift();
      if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
        failed = true;
        onFatal(`workers keep dying (${restarts.length} in a minute); giving up, see the log`);
        stopAll();
        return;
      }
      fork(slot);
    });
    return w;
  }

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  function stopAll() {
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    if (!alive.length) return resolveDone();
    let left = alive.length;
    const kill = setTimeout(() => alive.forEach((w) => w.isDead() || w.kill('SIGKILL')), 45_000);
    for (const w of alive) {
      w.once('exit', () => {
        if (--left === 0) {
          clearTimeout(kill);
          resolveDone();
        }
      });
      send(w, { t: 'stop' });
    }
  }

  for (let i = 0; i < workers; i++) fork(i);
  const onSignal = (signal: string) => {
    if (stopping) return;
    logger.info({ evt: 'stop', signal }, 'stopping: no new connections, finishing open sessions');
    stopAll();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  await done;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('|');
  return [key.slice(0, i), key.slice(i + 1)];
}
