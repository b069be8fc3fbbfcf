/**
 * Runs in a worker thread: owns one connection and runs the queue's write transactions on it.
 *
 * How durable each write is, by what a power loss right after it would cost:
 * - enqueue: FULL (the WAL is fsynced at commit). A 250 follows it; losing it loses mail.
 * - claim, lease release: NORMAL (committed to the WAL, fsynced by the next FULL commit or
 *   checkpoint). Lost, a lease only means the recipient is offered again: a delivery repeated,
 *   which at-least-once delivery allows. A crash of the process (kill -9) loses nothing either
 *   way: the WAL is in the kernel's page cache.
 * - record: NORMAL for the same reason (a result lost to a power loss repeats a delivery, or a
 *   notice), except when a finished message's body is a spool file, which the caller deletes
 *   next: then the WAL is fsynced before the answer, so no queue row can outlive its body.
 * One fsync per accepted message instead of three (docs/benchmarks.md, issue 22).
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db.ts';
import { prepareQueueWrites, type QueueWrites } from './queue-writes.ts';

const file = (workerData as { file: string }).file;
const db = openDatabase(file);
const writes = prepareQueueWrites(db);

type Op = keyof QueueWrites;
const FULL: Record<Op, boolean> = { enqueue: true, claim: false, record: false, releaseLeases: false };
let full = true; // openDatabase's setting
// prepared once: db.pragma() would compile a statement at every switch
const setSync = { full: db.prepare('PRAGMA synchronous = FULL'), normal: db.prepare('PRAGMA synchronous = NORMAL') };

function syncLevel(op: Op): void {
  if (FULL[op] === full) return;
  full = FULL[op];
  (full ? setSync.full : setSync.normal).run();
}

/** fsyncs the WAL (what a FULL commit would have done). */
function syncWal(): void {
  if (file === ':memory:') return;
  const fd = fs.openSync(`${file}-wal`, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function run(op: Op, args: unknown[]): unknown {
  syncLevel(op);
  const result = (writes[op] as (...a: unknown[]) => unknown)(...args);
  if (op === 'record' && (result as ReturnType<QueueWrites['record']>).finished.some((f) => f.bodyPath)) syncWal();
  return result;
}

parentPort!.on('message', (msg: { id: number; op?: Op; args?: unknown[]; close?: boolean }) => {
  if (msg.close) {
    db.close();
    parentPort!.postMessage({ id: msg.id, ok: true });
    parentPort!.close();
    return;
  }
  try {
    parentPort!.postMessage({ id: msg.id, ok: true, result: run(msg.op!, msg.args!) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, ok: false, error: (err as Error).message, code: (err as { code?: string }).code });
  }
});
