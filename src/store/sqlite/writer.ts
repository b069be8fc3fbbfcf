/**
 * The queue's write transactions in a worker thread. A synchronous SQLite commit fsyncs the WAL, which
 * takes a millisecond or two; on the main thread that would stall every SMTP session for that
 * long per batch. The worker owns its own connection (WAL lets readers on the main thread go
 * on), so the event loop keeps serving while a batch commits. A worker that dies fails its
 * pending batches (451 to those clients) and is started again on the next batch.
 */
import { Worker } from 'node:worker_threads';
import type { QueueWrites } from './queue-writes.ts';

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** The queue's write transactions, each answered by the worker once committed. */
export type AsyncQueueWrites = { [K in keyof QueueWrites]: (...a: Parameters<QueueWrites[K]>) => Promise<ReturnType<QueueWrites[K]>> };

export interface SqliteWriter extends AsyncQueueWrites {
  close(): Promise<void>;
}

// The worker is the built JavaScript beside this file when Postern runs from dist/; when the
// sources run (tests, `npm run dev`), a two-line bootstrap registers tsx in the worker first.
const fromSources = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSources ? './writer-worker.ts' : './writer-worker.js', import.meta.url).href;
const BOOT = fromSources
  ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); })
  .catch((err) => { console.error(err); process.exit(70); });`
  : `import(${JSON.stringify(WORKER_URL)}).catch((err) => { console.error(err); process.exit(70); });`;

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
    // the answers of one commit (writer-worker.ts runs every waiting request in one transaction)
    w.on('message', (answers: { id: number; ok: boolean; result?: unknown; error?: string; code?: string }[]) => {
      for (const m of answers) {
        const waiter = waiting.get(m.id);
        if (!waiter) continue;
        waiting.delete(m.id);
        if (m.ok) waiter.resolve(m.result);
        else waiter.reject(Object.assign(new Error(m.error), { code: m.code }));
      }
      if (!waiting.size) w.unref(); // idle: do not keep the process alive
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

  let closed = false;
  function send<T>(msg: { op?: keyof QueueWrites; args?: unknown[]; close?: boolean }): Promise<T> {
    if (closed && !msg.close) return Promise.reject(new Error('the store is closed'));
    worker ??= start();
    worker.ref();
    const id = ++seq;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker!.postMessage({ id, ...msg });
    });
  }

  return {
    enqueue: (messages) => send({ op: 'enqueue', args: [messages] }),
    claim: (opts) => send({ op: 'claim', args: [opts] }),
    record: (updates) => send({ op: 'record', args: [updates] }),
    releaseLeases: (owner, now) => send({ op: 'releaseLeases', args: [owner, now] }),
    async close() {
      closed = true;
      if (!worker) return;
      const w = worker;
      await send({ close: true }).catch(() => undefined);
      worker = null;
      await w.terminate();
    },
  };
}
