/** Runs in a worker thread: owns one connection and runs the queue's write transactions on it. */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db.ts';
import { prepareQueueWrites, type QueueWrites } from './queue-writes.ts';

const db = openDatabase((workerData as { file: string }).file);
const writes = prepareQueueWrites(db);

type Op = keyof QueueWrites;

parentPort!.on('message', (msg: { id: number; op?: Op; args?: unknown[]; close?: boolean }) => {
  if (msg.close) {
    db.close();
    parentPort!.postMessage({ id: msg.id, ok: true });
    parentPort!.close();
    return;
  }
  try {
    const fn = writes[msg.op!] as (...a: unknown[]) => unknown;
    const result = fn(...msg.args!);
    parentPort!.postMessage({ id: msg.id, ok: true, result });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, ok: false, error: (err as Error).message, code: (err as { code?: string }).code });
  }
});
