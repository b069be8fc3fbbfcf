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
 * One fsync per accepted message instead of three (docs/benchmarks.md, issue 22). Requests that
 * wait while a commit runs share the next one (runGroup).
 */
import fs from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
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

function syncLevel(wantFull: boolean): void {
  if (wantFull === full) return;
  full = wantFull;
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

interface Request {
  id: number;
  op?: Op;
  args?: unknown[];
  close?: boolean;
}
type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; code?: string };

const failure = (id: number, err: unknown): Answer => ({
  id,
  ok: false,
  error: (err as Error).message,
  code: (err as { code?: string }).code,
});
const run = (r: Request): unknown => (writes[r.op!] as (...a: unknown[]) => unknown)(...r.args!);
/** A finished message's body is a spool file the caller deletes next: its rows must be gone on disk first. */
const deletesSpoolFile = (r: Request, result: unknown) =>
  r.op === 'record' && (result as ReturnType<QueueWrites['record']>).finished.some((f) => f.bodyPath);

/**
 * Every request waiting when the thread wakes runs in one transaction, one commit: FULL when it
 * holds an enqueue, else NORMAL. Each request is its own savepoint (better-sqlite3 nests a
 * transaction function called inside another; a lone request is simply its own transaction),
 * so one that throws is undone alone and answered with its error while the others commit. A
 * commit that fails fails them all. Answers go back after the commit, in one message; if the
 * WAL cannot be forced to disk after a NORMAL commit, only the requests whose caller would
 * delete a spool file next are failed (the rest are committed and need no fsync).
 */
const together = db.transaction((body: () => Answer[]) => body());
function runGroup(group: Request[]): Answer[] {
  if (!group.length) return [];
  syncLevel(group.some((r) => FULL[r.op!]));
  const needSync = new Set<number>();
  const runAll = () =>
    group.map((r): Answer => {
      try {
        const result = run(r);
        if (deletesSpoolFile(r, result)) needSync.add(r.id);
        return { id: r.id, ok: true, result };
      } catch (err) {
        return failure(r.id, err);
      }
    });
  let answers: Answer[];
  try {
    answers = group.length === 1 ? runAll() : together.immediate(runAll);
  } catch (err) {
    return group.map((r) => failure(r.id, err));
  }
  if (full || !needSync.size) return answers;
  try {
    syncWal();
    return answers;
  } catch (err) {
    return answers.map((a) => (needSync.has(a.id) ? failure(a.id, err) : a));
  }
}
parentPort!.on('message', (first: Request) => {
  const group = [first];
  for (let next = receiveMessageOnPort(parentPort!); next; next = receiveMessageOnPort(parentPort!)) group.push(next.message as Request);
  const close = group.findIndex((r) => r.close);
  const answers = runGroup(close < 0 ? group : group.slice(0, close));
  if (close >= 0) {
    db.close();
    answers.push({ id: group[close].id, ok: true, result: undefined });
    parentPort!.postMessage(answers);
    parentPort!.close();
    return;
  }
  parentPort!.postMessage(answers);
});
