/**
 * The scheduler (what Postfix calls qmgr): claims due recipients from the store with a lease,
 * keeps at most `window` of them in memory, and starts delivery jobs within a global and a
 * per-destination (recipient domain) concurrency limit. Results are written back in group
 * commits. It never touches the network: `run` (delivery + decisions + notices) does.
 * A job whose run throws is given back (due again at once) and logged; the loop keeps going.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/index.ts';
import type { DeliveryJob, QueueRepo, RecipientUpdate } from '../store/index.ts';

export interface SchedulerOptions {
  queue: QueueRepo;
  clock: Clock;
  logger: Logger;
  /** Lease owner name: stable across restarts of this node (its leases are released at start). */
  owner: string;
  leaseMs: number;
  concurrency: number;
  perDestination: number;
  window: number;
  pollMs: number;
  /** Delivers one job and decides each recipient's update. */
  run(job: DeliveryJob): Promise<RecipientUpdate[]>;
  /** Called after the store removed finished messages (to delete their bodies). */
  onFinished(finished: { id: string; bodyPath: string | null }[]): Promise<void>;
}

export interface Scheduler {
  start(): Promise<void>;
  /** Something was queued: look for due work now instead of at the next poll. */
  kick(): void;
  /** Stops claiming, gives back what is not started, waits up to graceMs for running attempts. */
  stop(graceMs: number): Promise<void>;
  /** active: jobs running; inFlight and buffered: recipients running and claimed-but-waiting. */
  stats(): { active: number; inFlight: number; buffered: number; delivered: number; deferred: number; failed: number };
}

interface Claimed { job: DeliveryJob; claimedAt: number }

const KICK_DELAY_MS = 5;

export function createScheduler(o: SchedulerOptions): Scheduler {
  let buffer: Claimed[] = [];
  let bufferedRecipients = 0;
  let active = 0;
  let activeRecipients = 0;
  const byDest = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let claiming = false;
  let again = false;
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  let kicked = false;
  const counts = { delivered: 0, deferred: 0, failed: 0 };
  const recorder = createRecorder(o);

  function schedulePoll(ms: number) {
    if (stopping || timer) return;
    timer = setTimeout(() => { timer = null; void fill(); }, ms);
  }

  async function fill(): Promise<void> {
    if (stopping) return;
    if (claiming) { again = true; return; }
    const room = o.window - bufferedRecipients - activeRecipients;
    if (room <= 0) return; // a finishing job calls fill again
    claiming = true;
    again = false;
    let got = 0;
    try {
      const now = o.clock.now();
      const jobs = await o.queue.claim({ owner: o.owner, now, leaseMs: o.leaseMs, limit: room });
      for (const job of jobs) {
        buffer.push({ job, claimedAt: now });
        bufferedRecipients += job.recipients.length;
        got += job.recipients.length;
      }
    } catch (err) {
      o.logger.error({ evt: 'queue', err: (err as Error).message }, 'claiming due recipients failed; retrying');
    } finally {
      claiming = false;
    }
    dispatch();
    if (stopping) return;
    if (again || got >= room) queueMicrotask(() => void fill());
    else schedulePoll(o.pollMs);
  }

  function dispatch(): void {
    if (stopping) return;
    const keep: Claimed[] = [];
    for (const c of buffer) {
      const dest = c.job.domain;
      const busy = byDest.get(dest) ?? 0;
      if (active >= o.concurrency || busy >= o.perDestination) { keep.push(c); continue; }
      bufferedRecipients -= c.job.recipients.length;
      if (o.clock.now() - c.claimedAt > o.leaseMs / 2) { giveBack(c.job); continue; } // its lease may run out mid-attempt
      start(c.job);
    }
    buffer = keep;
  }

  function start(job: DeliveryJob): void {
    active++;
    activeRecipients += job.recipients.length;
    byDest.set(job.domain, (byDest.get(job.domain) ?? 0) + 1);
    const p = (async () => {
      try {
        const updates = await o.run(job);
        for (const u of updates) counts[u.state]++;
        await recorder.add(updates);
      } catch (err) {
        o.logger.error({ evt: 'delivery', qid: job.message.id, domain: job.domain, err: (err as Error).message }, 'delivery job failed; recipients given back');
        await recorder.add(giveBackUpdates(job, o.clock.now())).catch(() => undefined);
      }
    })().finally(() => {
      active--;
      activeRecipients -= job.recipients.length;
      const n = byDest.get(job.domain)! - 1;
      if (n) byDest.set(job.domain, n); else byDest.delete(job.domain);
      running.delete(p);
      dispatch();
      void fill();
    });
    running.add(p);
  }

  function giveBack(job: DeliveryJob): void {
    void recorder.add(giveBackUpdates(job, o.clock.now())).catch((err: Error) => {
      o.logger.warn({ evt: 'queue', qid: job.message.id, err: err.message }, 'giving back a claim failed; its lease will expire');
    });
  }

  return {
    async start() {
      const released = await o.queue.releaseLeases(o.owner, o.clock.now());
      if (released) o.logger.warn({ evt: 'queue', released }, 'recipients claimed before a restart are due again');
      void fill();
    },
    kick() {
      // a burst of commits makes one claim a few milliseconds later, not one claim each
      if (stopping || kicked) return;
      kicked = true;
      setTimeout(() => {
        kicked = false;
        if (timer) { clearTimeout(timer); timer = null; }
        void fill();
      }, KICK_DELAY_MS);
    },
    async stop(graceMs) {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const waiting = buffer;
      buffer = [];
      bufferedRecipients = 0;
      for (const c of waiting) giveBack(c.job);
      const all = Promise.allSettled([...running]);
      const finished = await Promise.race([all.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
      await recorder.drain();
      if (!finished) o.logger.warn({ evt: 'stop', inFlight: running.size }, 'attempts still running at shutdown; their leases end by themselves');
    },
    stats: () => ({ active, inFlight: activeRecipients, buffered: bufferedRecipients, ...counts }),
  };
}

/** Updates that give a claim back untried: due now, attempt count unchanged. */
function giveBackUpdates(job: DeliveryJob, now: number): RecipientUpdate[] {
  return job.recipients.map((r) => ({
    messageId: job.message.id, idx: r.idx, state: 'deferred', nextAttemptAt: now, at: now,
    reply: 'given back without an attempt', category: 'other', remoteHost: null, attempted: false,
  }));
}

/** Group commit of attempt results: one store transaction for everything that finished meanwhile. */
function createRecorder(o: SchedulerOptions) {
  let pending: { updates: RecipientUpdate[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  let flushing: Promise<void> | null = null;

  async function loop(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (pending.length) {
      const batch = pending;
      pending = [];
      try {
        const { finished } = await o.queue.record(batch.flatMap((b) => b.updates));
        if (finished.length) await o.onFinished(finished).catch((err: Error) => o.logger.warn({ evt: 'queue', err: err.message }, 'removing delivered bodies failed'));
        for (const b of batch) b.resolve();
      } catch (err) {
        o.logger.error({ evt: 'queue', err: (err as Error).message }, 'writing delivery results failed; the leases will bring them back');
        for (const b of batch) b.reject(err as Error);
      }
    }
    flushing = null;
  }

  return {
    add(updates: RecipientUpdate[]): Promise<void> {
      if (!updates.length) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        pending.push({ updates, resolve, reject });
        flushing ??= loop();
      });
    },
    async drain() {
      while (flushing) await flushing;
    },
  };
}
