import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnqueuer } from './enqueue.ts';
import type { QueueRepo } from '../store/index.ts';
import type { NewMessage } from '../core/index.ts';
import type { Spool } from '../spool/index.ts';

function msg(id: string): NewMessage {
  return {
    id,
    customerId: 1,
    mailboxId: 1,
    sender: 'alice@example.com',
    size: 10,
    bodyPath: `q/${id}`,
    body: null,
    messageIdHeader: `<${id}@x>`,
    clientIp: '127.0.0.1',
    authUser: 'alice@example.com',
    listener: 'submission:587',
    dsnRet: null,
    dsnEnvid: null,
    createdAt: 1,
    recipients: [{ address: 'bob@remote.test' }],
  };
}

interface Gate {
  promise: Promise<void>;
  open(): void;
  fail(err: Error): void;
}
function gate(): Gate {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

/** Lets every queued callback, microtask and setImmediate run a few times. */
async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A fake spool and queue that record every call; each step can be held with a gate or made to fail. */
function fakes() {
  const events: string[] = [];
  const syncCalls: string[][] = [];
  const batchCalls: string[][] = [];
  const committed = new Set<string>();
  let holdSync: Gate | null = null;
  let holdBatch: Gate | null = null;
  const failSync: Error[] = [];
  const failBatch: Error[] = [];
  const spool = {
    root: '/nowhere',
    async syncDirs(paths: Iterable<string>) {
      const list = [...paths];
      syncCalls.push(list);
      events.push(`sync-start:${list.length}`);
      if (holdSync) await holdSync.promise;
      const f = failSync.shift();
      if (f) {
        events.push('sync-fail');
        throw f;
      }
      events.push('sync-end');
    },
  } as unknown as Spool;
  const queue = {
    async enqueueBatch(messages: NewMessage[]) {
      const ids = messages.map((m) => m.id);
      batchCalls.push(ids);
      events.push(`batch-start:${ids.join(',')}`);
      if (holdBatch) await holdBatch.promise;
      const f = failBatch.shift();
      if (f) {
        events.push('batch-fail');
        throw f;
      }
      for (const id of ids) committed.add(id);
      events.push('batch-end');
      return ids.map((id) => ({ id, outcome: 'queued' as const }));
    },
  } as unknown as QueueRepo;
  return {
    spool,
    queue,
    events,
    syncCalls,
    batchCalls,
    committed,
    failSync,
    failBatch,
    hold(which: 'sync' | 'batch'): Gate {
      const g = gate();
      if (which === 'sync') holdSync = g;
      else holdBatch = g;
      return g;
    },
    release() {
      holdSync = null;
      holdBatch = null;
    },
  };
}

/** Enqueues and records when the promise settles, in the shared event log. */
function track(e: ReturnType<typeof createEnqueuer>, f: ReturnType<typeof fakes>, id: string) {
  const state = { settled: false as false | 'ok' | 'err', error: null as Error | null };
  const p = e.enqueue(msg(id)).then(
    () => {
      state.settled = 'ok';
      f.events.push(`resolved:${id}`);
    },
    (err: Error) => {
      state.settled = 'err';
      state.error = err;
      f.events.push(`rejected:${id}`);
    },
  );
  return { state, p };
}

test('concurrent enqueues are committed in one batch: one syncDirs, one enqueueBatch', async () => {
  const f = fakes();
  const e = createEnqueuer({ queue: f.queue, spool: f.spool });
  const ids = Array.from({ length: 20 }, (_, i) => `m${i}`);
  await Promise.all(ids.map((id) => e.enqueue(msg(id))));
  assert.equal(f.batchCalls.length, 1, `batches: ${JSON.stringify(f.batchCalls)}`);
  assert.deepEqual(f.batchCalls[0], ids, 'every message, in arrival order');
  assert.equal(f.syncCalls.length, 1);
  assert.deepEqual(f.syncCalls[0].sort(), ids.map((id) => `q/${id}`).sort());
  assert.deepEqual(e.stats(), { batches: 1, messages: 20 });
});

test('enqueues that arrive while a batch commits form the next batch (fewer commits than messages)', async () => {
  const f = fakes();
  const e = createEnqueuer({ queue: f.queue, spool: f.spool });
  const g = f.hold('batch');
  const first = ['a1', 'a2', 'a3'].map((id) => track(e, f, id));
  await settle();
  assert.deepEqual(f.batchCalls, [['a1', 'a2', 'a3']]);
  const second = ['b1', 'b2', 'b3', 'b4'].map((id) => track(e, f, id));
  await settle();
  assert.equal(f.batchCalls.length, 1, 'the second group waits for the first commit');
  f.release();
  g.open();
  await Promise.all([...first, ...second].map((t) => t.p));
  assert.deepEqual(f.batchCalls, [
    ['a1', 'a2', 'a3'],
    ['b1', 'b2', 'b3', 'b4'],
  ]);
  assert.deepEqual(e.stats(), { batches: 2, messages: 7 });
});

test('maxBatch splits a large group into several batches, each at most maxBatch', async () => {
  const f = fakes();
  const e = createEnqueuer({ queue: f.queue, spool: f.spool, maxBatch: 3 });
  const ids = Array.from({ length: 8 }, (_, i) => `m${i}`);
  await Promise.all(ids.map((id) => e.enqueue(msg(id))));
  assert.deepEqual(f.batchCalls, [
    ['m0', 'm1', 'm2'],
    ['m3', 'm4', 'm5'],
    ['m6', 'm7'],
  ]);
  assert.equal(f.syncCalls.length, 3);
});

test('an enqueue resolves only after its folders are synced and its rows committed', async () => {
  const f = fakes();
  const e = createEnqueuer({ queue: f.queue, spool: f.spool });
  const gs = f.hold('sync');
  const t = ['x1', 'x2'].map((id) => track(e, f, id));
  await settle();
  assert.deepEqual(f.events, ['sync-start:2']);
  assert.ok(
    t.every((x) => x.state.settled === false),
    'not settled while syncDirs runs',
  );
  assert.equal(f.batchCalls.length, 0, 'rows are not committed before the bodies are synced');

  const gb = f.hold('batch');
  gs.open();
  await settle();
  assert.deepEqual(f.events, ['sync-start:2', 'sync-end', 'batch-start:x1,x2']);
  assert.ok(
    t.every((x) => x.state.settled === false),
    'not settled while enqueueBatch runs',
  );

  gb.open();
  await Promise.all(t.map((x) => x.p));
  assert.deepEqual(f.events, ['sync-start:2', 'sync-end', 'batch-start:x1,x2', 'batch-end', 'resolved:x1', 'resolved:x2']);
});

test('a failing commit rejects every message of that batch with the error (each tried alone first), and the next batch goes on', async () => {
  const f = fakes();
  const e = createEnqueuer({ queue: f.queue, spool: f.spool });
  const boom = new Error('disk I/O error');
  f.failBatch.push(boom, boom, boom, boom);
  const g = f.hold('batch');
  const failing = ['f1', 'f2', 'f3'].map((id) => track(e, f, id));
  await settle();
  const next = ['n1', 'n2'].map((id) => track(e, f, id)); // arrive while the failing batch commits
  await settle();
  f.release();
  g.open();
  await Promise.all([...failing, ...next].map((t) => t.p));
  for (const t of failing) {
    assert.equal(t.state.settled, 'err');
    assert.equal(t.state.error, boom);
  }
  for (const t of next) assert.equal(t.state.settled, 'ok');
  assert.deepEqual(f.batchCalls, [['f1', 'f2', 'f3'], ['f1'], ['f2'], ['f3'], ['n1', 'n2']]);
  assert.deepEqual([...f.committed].sort(), ['n1', 'n2']);
  assert.deepEqual(e.stats(), { batches: 1, messages: 2 }, 'only durable batches count');

  // and a later, separate enqueue still works
  await e.enqueue(msg('later'));
  assert.ok(f.committed.has('later'));
});

test('a message the store refuses fails alone: the others of its group commit are committed', async () => {
  const f = fakes();
  const e = createEnqueuer({ queue: f.queue, spool: f.spool });
  const poison = new Error('invalid byte sequence for encoding "UTF8": 0x00');
  f.failBatch.push(poison); // the batch of three fails once
  const g = f.hold('batch');
  const t = ['p1', 'p2', 'p3'].map((id) => track(e, f, id));
  await settle();
  // the whole batch fails once; alone, only p2 fails again
  const original = f.queue.enqueueBatch.bind(f.queue);
  f.queue.enqueueBatch = async (ms: NewMessage[]) => {
    if (ms.length === 1 && ms[0].id === 'p2') throw poison;
    return original(ms);
  };
  f.release();
  g.open();
  await Promise.all(t.map((x) => x.p));
  assert.deepEqual(
    t.map((x) => x.state.settled),
    ['ok', 'err', 'ok'],
  );
  assert.equal(t[1].state.error, poison);
  assert.deepEqual([...f.committed].sort(), ['p1', 'p3']);
});

test('a failing syncDirs rejects the batch without committing its rows', async () => {
  const f = fakes();
  const e = createEnqueuer({ queue: f.queue, spool: f.spool });
  const err = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
  f.failSync.push(err);
  const t = ['s1', 's2'].map((id) => track(e, f, id));
  await Promise.all(t.map((x) => x.p));
  for (const x of t) {
    assert.equal(x.state.settled, 'err');
    assert.equal(x.state.error, err);
  }
  assert.equal(f.batchCalls.length, 0, 'no queue rows for bodies that may not be durable');
  await e.enqueue(msg('s3'));
  assert.deepEqual(f.batchCalls, [['s3']]);
});

test('drain waits for the batch in flight', async () => {
  const f = fakes();
  const e = createEnqueuer({ queue: f.queue, spool: f.spool });
  const g = f.hold('batch');
  const t = track(e, f, 'd1');
  let drained = false;
  const d = e.drain().then(() => {
    drained = true;
  });
  await settle();
  assert.equal(drained, false);
  g.open();
  await d;
  assert.equal(drained, true);
  assert.equal(t.state.settled, 'ok');
  await e.drain(); // nothing pending: returns at once
});
