import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { processTreeCpuMs, threadsCpuMs, threadsPerMessage } from '../bench/lib/report.ts';

// A parent with a thread that burns 400 ms of CPU and one child process: the shape of a
// supervisor (or a single server with its writer thread) that `npm run bench -- --threads` reads.
const PARENT = `
const { Worker } = require('node:worker_threads');
new Worker('const end = Date.now() + 400; while (Date.now() < end) {} setInterval(() => {}, 1000);', { eval: true });
require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
setTimeout(() => {}, 10000);
`;

test('--threads: CPU by process (supervisor, worker N) and thread, and per message between two readings', async () => {
  const parent = spawn(process.execPath, ['-e', PARENT], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 800));
    const threads = threadsCpuMs(parent.pid!);
    assert.ok(threads, 'the tree is readable');
    const keys = [...threads.keys()];
    assert.ok(
      keys.some((k) => k.startsWith('supervisor: ')),
      keys.join(', '),
    );
    assert.ok(
      keys.some((k) => k.startsWith('worker 1: ')),
      keys.join(', '),
    );
    // the burning thread is one of the parent's, and the parent's threads hold most of the tree's CPU
    const parentMs = keys.filter((k) => k.startsWith('supervisor: ')).reduce((ms, k) => ms + threads.get(k)!, 0);
    assert.ok(
      Math.max(...keys.filter((k) => k.startsWith('supervisor: ')).map((k) => threads.get(k)!)) >= 300,
      JSON.stringify([...threads]),
    );
    assert.ok(parentMs <= processTreeCpuMs(parent.pid!)! + 20);

    const perMessage = threadsPerMessage(
      new Map([['supervisor: a', 10]]),
      new Map([
        ['supervisor: a', 30],
        ['worker 1: b', 0],
        ['supervisor: c', 4],
      ]),
      2,
    );
    assert.deepEqual(perMessage, { 'supervisor: a': 10, 'supervisor: c': 2 }, 'per message, sorted, threads that spent nothing left out');
  } finally {
    // the child dies with its parent's process group only if asked: kill the whole tree
    const tree = spawn('pkill', ['-P', String(parent.pid)]);
    await new Promise((r) => tree.once('exit', r));
    parent.kill();
  }
  assert.equal(threadsCpuMs(2 ** 22 + 12345), null, 'a process that is gone');
});
