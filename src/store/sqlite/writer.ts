/**
 * The queue's write path in a worker thread. A synchronous SQLite commit fsyncs the WAL, which
 * takes a millisecond or two; on the main thread that would stall every SMTP session for that
 * long per batch. The worker owns its own connection (WAL lets readers on the main thread go
 * on), so the event loop keeps serving while a batch commits. A worker that dies fails its
 * pending batches (451 to those clients) and is started again on the next batch.
 */
import { Worker } from 'node:worker_threads';
import type { NewMessage } from '../types.ts';

interface Waiter { resolve: () => void; reject: (e: Error) => void }

export interface SqliteWriter {
  commit(messages: NewMessage[]): Promise<void>;
  close(): Promise<void>;
}

// The worker is TypeScript too: a two-line bootstrap registers tsx in the worker, then loads it.
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./writer-worker.ts', import.meta.url).href)}); })
  .catch((err) => { console.error(err); process.exit(70); });`;

export function createSqliteWriter(file: string): SqliteWriter {
  let worker: Worker | null = null;
  let seq = 0;
  const waiting = new Map<number, Waiter>();

  function failAll(err: Error) {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  }

  function start(): Worker {
    const w = new Worker(BOOT, { eval: true, workerData: { file } });
    w.on('message', (m: { id: number; ok: boolean; error?: string; code?: string }) => {
      const waiter = waiting.get(m.id);
      if (!waiter) return;
      waiting.delete(m.id);
      if (!waiting.size) w.unref(); // idle: do not keep the process alive
      if (m.ok) waiter.resolve();
      else waiter.reject(Object.assign(new Error(m.error), { code: m.code }));
    });
    w.on('error', (err) => {
      failAll(err);
    });
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      failAll(new Error(`queue writer exited with code ${code}`));
    });
    return w;
  }

  function send(msg: { messages?: NewMessage[]; close?: boolean }): Promise<void> {
    worker ??= start();
    worker.ref();
    const id = ++seq;
    return new Promise<void>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker!.postMessage({ id, ...msg });
    });
  }

  return {
    commit: (messages) => send({ messages }),
    async close() {
      if (!worker) return;
      const w = worker;
      await send({ close: true }).catch(() => undefined);
      worker = null;
      await w.terminate();
    },
  };
}
