import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { Store } from '../store/index.ts';
import type { DeliveryJob, RecipientUpdate, NewMessage } from '../core/index.ts';
import { createScheduler, type SchedulerOptions } from './scheduler.ts';

const logger = pino({ level: 'silent' });
let store: Store;
afterEach(async () => store?.close());

let t = 1_800_000_000_000;
const clock = { now: () => t };

function message(id: string, rcpts: string[]): NewMessage {
  return {
    id,
    customerId: null,
    mailboxId: null,
    sender: 'a@x.test',
    size: 5,
    bodyPath: null,
    body: Buffer.from('hello'),
    messageIdHeader: null,
    clientIp: '127.0.0.1',
    authUser: null,
    listener: 'submission',
    dsnRet: null,
    dsnEnvid: null,
    createdAt: t,
    recipients: rcpts.map((address) => ({ address })),
  };
}

function delivered(job: DeliveryJob): RecipientUpdate[] {
  return job.recipients.map((r) => ({
    messageId: job.message.id,
    idx: r.idx,
    state: 'delivered',
    nextAttemptAt: t,
    at: t,
    reply: '250 ok',
    category: 'ok',
    remoteHost: null,
    attempted: true,
  }));
}

function options(over: Partial<SchedulerOptions>): SchedulerOptions {
  return {
    queue: store.queue,
    clock,
    logger,
    owner: 'node-a',
    leaseMs: 600_000,
    concurrency: 10,
    perDestination: 10,
    window: 100,
    pollMs: 20,
    run: async (job) => delivered(job),
    onFinished: async () => undefined,
    ...over,
  };
}

const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('global and per-destination concurrency limits hold; every job runs once; the queue empties', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch([
    ...Array.from({ length: 8 }, (_, i) => message(`A${i}`, [`r${i}@busy.test`])),
    ...Array.from({ length: 4 }, (_, i) => message(`B${i}`, [`r${i}@other.test`])),
  ]);
  const running = new Map<string, number>();
  let total = 0;
  let maxTotal = 0;
  const maxPer = new Map<string, number>();
  const seen: string[] = [];
  const s = createScheduler(
    options({
      concurrency: 3,
      perDestination: 2,
      async run(job) {
        seen.push(job.message.id);
        total++;
        running.set(job.domain, (running.get(job.domain) ?? 0) + 1);
        maxTotal = Math.max(maxTotal, total);
        maxPer.set(job.domain, Math.max(maxPer.get(job.domain) ?? 0, running.get(job.domain)!));
        await new Promise((r) => setTimeout(r, 15));
        total--;
        running.set(job.domain, running.get(job.domain)! - 1);
        return delivered(job);
      },
    }),
  );
  await s.start();
  await until(async () => (await store.queue.count()) === 0);
  await s.stop(1000);
  assert.equal(seen.length, 12);
  assert.equal(new Set(seen).size, 12, 'no job ran twice');
  assert.equal(maxTotal, 3);
  assert.equal(maxPer.get('busy.test'), 2);
  assert.ok((maxPer.get('other.test') ?? 0) <= 2);
});

test('recipients of one message at one domain form one job; the window bounds what is claimed', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch([message('M1', ['a@d1.test', 'b@d1.test', 'c@d2.test']), message('M2', ['x@d1.test'])]);
  const jobs: DeliveryJob[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const s = createScheduler(
    options({
      window: 3,
      async run(job) {
        jobs.push(job);
        await gate;
        return delivered(job);
      },
    }),
  );
  await s.start();
  await until(() => s.stats().inFlight + s.stats().buffered >= 3);
  assert.ok(s.stats().inFlight + s.stats().buffered <= 3, 'at most `window` recipients in memory');
  release();
  await until(async () => (await store.queue.count()) === 0);
  await s.stop(1000);
  const m1d1 = jobs.find((j) => j.message.id === 'M1' && j.domain === 'd1.test');
  assert.deepEqual(
    m1d1?.recipients.map((r) => r.address),
    ['a@d1.test', 'b@d1.test'],
  );
  assert.equal(jobs.length, 3);
});

test('leases: claimed recipients are invisible to another node until the lease ends; a restart releases its own at once', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch([message('L1', ['a@d.test'])]);
  const first = await store.queue.claim({ owner: 'node-a', now: t, leaseMs: 60_000, limit: 10 });
  assert.equal(first.length, 1);
  assert.equal((await store.queue.claim({ owner: 'node-b', now: t + 1000, leaseMs: 60_000, limit: 10 })).length, 0);
  const m = await store.queue.get('L1');
  assert.equal(m?.recipients[0]?.leaseOwner, 'node-a');
  // node-a crashed: after the lease another node takes it
  assert.equal((await store.queue.claim({ owner: 'node-b', now: t + 61_000, leaseMs: 60_000, limit: 10 })).length, 1);
  // node-b restarts: its claims come back at once
  assert.equal(await store.queue.releaseLeases('node-b', t + 62_000), 1);
  assert.equal((await store.queue.claim({ owner: 'node-c', now: t + 62_000, leaseMs: 60_000, limit: 10 })).length, 1);
});

test('a job whose run throws is given back: due again, attempt count unchanged', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch([message('E1', ['a@d.test'])]);
  let calls = 0;
  const s = createScheduler(
    options({
      async run(job) {
        if (++calls === 1) throw new Error('boom');
        return delivered(job);
      },
    }),
  );
  await s.start();
  await until(async () => (await store.queue.count()) === 0);
  await s.stop(1000);
  assert.equal(calls, 2);
});

test('stop: nothing new starts, claimed-but-not-started work is given back untried', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch(Array.from({ length: 5 }, (_, i) => message(`S${i}`, [`a@d.test`])));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  const s = createScheduler(
    options({
      perDestination: 1,
      async run(job) {
        started++;
        await gate;
        return delivered(job);
      },
    }),
  );
  await s.start();
  await until(() => started === 1 && s.stats().buffered === 4);
  const stopping = s.stop(2000);
  release();
  await stopping;
  assert.equal(started, 1);
  const left = await store.queue.list();
  assert.equal(left.length, 4);
  for (const m of left) {
    assert.equal(m.recipients[0]!.attempts, 0);
    assert.equal(m.recipients[0]!.leaseOwner, null);
    assert.ok(m.recipients[0]!.nextAttemptAt <= t, 'due again');
  }
});

test("a late result of an expired claim is dropped; the newer claim's result stands; final states never revert", async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch([message('R1', ['a@d.test'])]);
  const [old] = await store.queue.claim({ owner: 'node-a', now: t, leaseMs: 1000, limit: 10 });
  const [fresh] = await store.queue.claim({ owner: 'node-b', now: t + 2000, leaseMs: 60_000, limit: 10 });
  assert.ok(old && fresh);
  const result = (job: DeliveryJob, state: 'delivered' | 'deferred', reply: string): RecipientUpdate => ({
    messageId: 'R1',
    idx: 0,
    state,
    nextAttemptAt: t + 600_000,
    at: t + 3000,
    reply,
    category: 'ok',
    remoteHost: null,
    attempted: true,
    lease: job.lease,
  });
  await store.queue.record([result(old, 'deferred', 'late and stale')]);
  let m = await store.queue.get('R1');
  assert.equal(m?.recipients[0]?.leaseOwner, 'node-b', 'the stale result did not touch the newer claim');
  assert.equal(m?.recipients[0]?.attempts, 0);
  await store.queue.record([result(fresh, 'deferred', '451 later')]);
  m = await store.queue.get('R1');
  assert.equal(m?.recipients[0]?.state, 'deferred');
  assert.equal(m?.recipients[0]?.lastReply, '451 later');
  const [third] = await store.queue.claim({ owner: 'node-b', now: t + 700_000, leaseMs: 60_000, limit: 10 });
  await store.queue.record([{ ...result(third!, 'delivered', '250 ok'), messageId: 'R1' }]);
  assert.equal(await store.queue.get('R1'), null, 'delivered: the message left the queue');
});

test('claims leave out the domains the caller asks to skip', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch([message('X1', ['a@busy.test', 'b@calm.test'])]);
  const jobs = await store.queue.claim({ owner: 'n', now: t, leaseMs: 60_000, limit: 10, excludeDomains: ['busy.test'] });
  assert.deepEqual(
    jobs.map((j) => j.domain),
    ['calm.test'],
  );
});

test('a failed result write is tried again, not turned into a give-back', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch([message('W1', ['a@d.test'])]);
  let failures = 2;
  const flaky = Object.create(store.queue) as typeof store.queue;
  flaky.record = async (u) => {
    if (failures-- > 0) throw new Error('database is locked');
    return store.queue.record(u);
  };
  let runs = 0;
  const s = createScheduler(
    options({
      queue: flaky,
      async run(job) {
        runs++;
        return delivered(job);
      },
    }),
  );
  await s.start();
  await until(async () => (await store.queue.count()) === 0, 8000);
  await s.stop(1000);
  assert.equal(runs, 1, 'delivered once, its result written on the third try');
});

test('results the store keeps refusing fail alone: the others written with them are tried one by one and kept', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch([message('P1', ['a@d1.test']), message('P2', ['a@d2.test']), message('P3', ['a@d3.test'])]);
  const poisoned = Object.create(store.queue) as typeof store.queue;
  const calls: string[][] = [];
  poisoned.record = async (u) => {
    calls.push(u.map((x) => x.messageId));
    if (u.some((x) => x.messageId === 'P2')) throw new Error('invalid byte sequence for encoding "UTF8": 0x00');
    return store.queue.record(u);
  };
  // the three results finish together, so they reach the recorder as one batch
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let started = 0;
  const s = createScheduler(
    options({
      queue: poisoned,
      async run(job) {
        if (++started === 3) release();
        await gate;
        return delivered(job);
      },
    }),
  );
  await s.start();
  await until(async () => (await store.queue.count()) === 1, 15_000);
  await s.stop(1000);
  assert.equal((await store.queue.get('P2'))?.state, 'queued', 'the refused result is left for the lease to bring back');
  assert.ok(
    calls.some((c) => c.length === 3),
    'written together first',
  );
  assert.ok(calls.some((c) => c.length === 1 && c[0] === 'P1') && calls.some((c) => c.length === 1 && c[0] === 'P3'), 'then one by one');
});

test('each running job has its own abort signal (no listener pile-up on a shared one); stop aborts them all', async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.queue.enqueueBatch(Array.from({ length: 30 }, (_, i) => message(`S${i}`, [`r@d${i}.test`])));
  const signals = new Set<AbortSignal>();
  let started = 0;
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  const s = createScheduler(
    options({
      concurrency: 30,
      run: (job, ctx) =>
        new Promise((resolve) => {
          started++;
          signals.add(ctx.signal);
          // what an attempt does: one listener on its signal, for as long as it runs
          ctx.signal.addEventListener('abort', () => resolve(delivered(job)), { once: true });
        }),
    }),
  );
  await s.start();
  await until(() => started === 30);
  assert.equal(signals.size, 30, 'one signal per job');
  const alive = setInterval(() => undefined, 1000); // stop's grace timer does not hold the process
  await s.stop(50);
  clearInterval(alive);
  assert.ok(
    [...signals].every((sig) => sig.aborted),
    'every attempt was told to stop',
  );
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.deepEqual(
    warnings.filter((w) => w === 'MaxListenersExceededWarning'),
    [],
  );
});

test('the store away for 60 s during deliveries: results are held and written when it is back, nothing is offered again, 0 duplicates', {
  timeout: 120_000,
}, async () => {
  store = createSqliteStore({ path: ':memory:' });
  const real = store.queue;
  let away = false;
  const gone = () => {
    throw new Error('connection terminated: the store is away');
  };
  // every queue call fails while the store is away, as with a PostgreSQL outage
  const queue = new Proxy(real, {
    get(target, key) {
      const v = Reflect.get(target, key) as unknown;
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => (away ? gone() : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  t = Date.now() - 1000; // this test runs on the real clock (the outage is real time)
  await real.enqueueBatch(Array.from({ length: 40 }, (_, i) => message(`O${i}`, [`r@d${i % 8}.test`])));
  const runs = new Map<string, number>();
  const realNow = { now: () => Date.now() };
  const s = createScheduler(
    options({
      queue,
      clock: realNow,
      leaseMs: 70_000,
      concurrency: 4,
      perDestination: 1,
      window: 40,
      pollMs: 50,
      holdRetryMs: 200,
      async run(job) {
        runs.set(job.message.id, (runs.get(job.message.id) ?? 0) + 1);
        if (runs.size === 8) away = true; // the outage starts in the middle of the deliveries
        await new Promise((r) => setTimeout(r, 20));
        return job.recipients.map((r) => ({
          messageId: job.message.id,
          idx: r.idx,
          state: 'delivered' as const,
          nextAttemptAt: Date.now(),
          at: Date.now(),
          reply: '250 ok',
          category: 'ok',
          remoteHost: null,
          attempted: true,
          lease: job.lease,
        }));
      },
    }),
  );
  await s.start();
  await until(() => away, 10_000);
  const outageStart = Date.now();
  await until(() => s.held() > 0, 20_000);
  await new Promise((r) => setTimeout(r, 60_000 - (Date.now() - outageStart)));
  assert.ok(s.held() > 0, 'results are still held while the store is away');
  away = false;
  await until(async () => (await real.count()) === 0, 30_000);
  await s.stop(1000);
  const duplicates = [...runs.values()].filter((n) => n > 1).length;
  assert.equal(runs.size, 40, 'every message was delivered');
  assert.equal(
    duplicates,
    0,
    `duplicated: ${[...runs]
      .filter(([, n]) => n > 1)
      .map(([id]) => id)
      .join(' ')}`,
  );
  assert.equal(s.held(), 0);
});

test('results held at stop are kept on disk and written by the next start before any lease is released', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-hold-'));
  store = createSqliteStore({ path: ':memory:' });
  const real = store.queue;
  let away = false;
  const queue = new Proxy(real, {
    get(target, key) {
      const v = Reflect.get(target, key) as unknown;
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        if (away && key === 'record') throw new Error('the store is away');
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  await real.enqueueBatch([message('K1', ['a@k.test'])]);
  let runs = 0;
  const first = createScheduler(
    options({
      queue,
      holdDir: dir,
      holdRetryMs: 60_000,
      async run(job) {
        runs++;
        away = true;
        return delivered(job);
      },
    }),
  );
  await first.start();
  await until(() => first.held() === 1, 15_000);
  await first.stop(100);
  assert.ok(
    fs.readdirSync(dir).some((n) => n.startsWith('results-')),
    'spilled to disk at stop',
  );
  away = false;
  const second = createScheduler(
    options({
      queue,
      holdDir: dir,
      async run(job) {
        runs++;
        return delivered(job);
      },
    }),
  );
  await second.start();
  await until(async () => (await real.count()) === 0, 5000);
  await second.stop(100);
  assert.equal(runs, 1, 'not delivered again after the restart');
  assert.deepEqual(
    fs.readdirSync(dir).filter((n) => n.startsWith('results-')),
    [],
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a held result the store refuses while it takes others is dropped (logged), so it cannot stall the node', async () => {
  const { createResultHold } = await import('./result-hold.ts');
  const hold = createResultHold({ dir: null, maxInMemory: 100 });
  const upd = (id: string) => ({
    messageId: id,
    idx: 0,
    state: 'delivered' as const,
    nextAttemptAt: 0,
    at: 0,
    reply: '250',
    category: 'ok',
    remoteHost: null,
    attempted: true,
  });
  for (const id of ['poison', 'a', 'b']) hold.add({ updates: [upd(id)], at: Date.now() });
  let away = true;
  const write = async (u: { messageId: string }[]) => {
    if (away || u[0]!.messageId === 'poison') throw new Error('refused');
  };
  const refused: string[] = [];
  assert.deepEqual(
    await hold.flush(write, (e) => refused.push(e.updates[0]!.messageId)),
    [],
    'the store is away: nothing written, nothing dropped',
  );
  assert.equal(hold.size(), 3);
  away = false;
  const done = await hold.flush(write, (e) => refused.push(e.updates[0]!.messageId));
  assert.deepEqual(
    done.map((e) => e.updates[0]!.messageId),
    ['a', 'b'],
  );
  assert.deepEqual(refused, ['poison']);
  assert.equal(hold.size(), 0);
});

test('a finishing job asks the store again only when the last claim may have left work: a full window yes, a short claim no', async () => {
  store = createSqliteStore({ path: ':memory:' });
  let claims = 0;
  const queue = {
    ...store.queue,
    claim: (o: Parameters<Store['queue']['claim']>[0]) => {
      claims++;
      return store.queue.claim(o);
    },
  };
  // window 1: each claim fills the window, so every finish claims the next (no poll: 60 s)
  await store.queue.enqueueBatch(['F1', 'F2', 'F3'].map((id, i) => message(id, [`r${i}@full.test`])));
  const s = createScheduler(options({ queue, window: 1, pollMs: 60_000 }));
  await s.start();
  await until(async () => (await store.queue.count()) === 0);
  await new Promise((r) => setTimeout(r, 30));
  // three full claims, then one that finds nothing after the last finish
  assert.equal(claims, 4);
  await s.stop(1000);
  // window 100: a short claim (1 of 100) finds everything due, so the job's finish does not ask again
  const wide = createScheduler(options({ queue, window: 100, pollMs: 60_000 }));
  await wide.start();
  claims = 0;
  await store.queue.enqueueBatch([message('S1', ['r@short.test'])]);
  wide.kick();
  await until(async () => (await store.queue.count()) === 0);
  await new Promise((r) => setTimeout(r, 30));
  await wide.stop(1000);
  assert.equal(claims, 1, 'no empty claim after a job when the store had nothing more due');
});

test('a claim that left a saturated domain out does not count as the store having nothing more due', async () => {
  store = createSqliteStore({ path: ':memory:' });
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  // one at a time to busy.test: 1 running, 2 buffered, so the domain is left out of later claims
  const s = createScheduler(
    options({
      perDestination: 1,
      pollMs: 60_000,
      run: async (job) => {
        await gate;
        return delivered(job);
      },
    }),
  );
  await store.queue.enqueueBatch(['A1', 'A2', 'A3'].map((id) => message(id, [`${id}@busy.test`])));
  await s.start();
  try {
    await store.queue.enqueueBatch(['B1', 'B2'].map((id) => message(id, [`${id}@busy.test`])));
    s.kick(); // claims nothing: busy.test is saturated
    await new Promise((r) => setTimeout(r, 30));
    open();
    // without a poll for 60 s, B1 and B2 come only from the claims the finishing jobs make
    await until(async () => (await store.queue.count()) === 0, 3000);
  } finally {
    await s.stop(1000);
  }
});
