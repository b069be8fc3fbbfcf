/** Runs in a worker thread: owns one connection and commits enqueue batches on it. */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db.ts';
import { prepareEnqueue } from './queue.ts';
import type { NewMessage } from '../types.ts';

const db = openDatabase((workerData as { file: string }).file);
const enqueue = prepareEnqueue(db);

parentPort!.on('message', (msg: { id: number; messages?: NewMessage[]; close?: boolean }) => {
  if (msg.close) {
    db.close();
    parentPort!.postMessage({ id: msg.id, ok: true });
    parentPort!.close();
    return;
  }
  try {
    enqueue(msg.messages!);
    parentPort!.postMessage({ id: msg.id, ok: true });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, ok: false, error: (err as Error).message, code: (err as { code?: string }).code });
  }
});
