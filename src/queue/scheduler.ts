/**
 * The scheduler (what Postfix calls qmgr): claims due recipients from the store with a lease,
 * keeps at most `window` of them in memory (and at most 2 x perDestination per domain, so one
 * domain's backlog cannot starve the others), and starts delivery jobs within a global and a
 * per-destination (recipient domain) concurrency limit. Each job gets a deadline inside its
 * lease. Results are written back in group commits, only while their lease holds; a failed
 * write is tried again, and results the store keeps refusing (it is away) are held
 * (result-hold.ts) and written when it is back, before anything new is claimed: their
 * recipients keep their leases, so they are not offered again. It never touches the network:
 * `run` (delivery + decisions + notices) does. A job whose run throws is given back (due again
 * at once) and logged.
 */
import type { Logger } from 'pino';
import type { Clock, DeliveryJob, RecipientUpdate } from '../core/index.ts';
import type { QueueRepo } from '../store/index.ts';
import { createResultHold, type HeldResult, type ResultHold } from './result-hold.ts';

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
  /** Delivers one job and decides each recipient's update; must end by `deadline`. */
  run(job: DeliveryJob, ctx: { deadline: number; signal: AbortSignal }): Promise<RecipientUpdate[]>;
  /** Called after the store removed finished messages (to delete their bodies). */
  onFinished(finished: { id: string; bodyPath: string | null }[]): Promise<void>;
  /** Called with a job's results once they are written (e.g. to suppress hard-bounced recipients); a failure is logged. */
  onRecorded?(job: DeliveryJob, updates: RecipientUpdate[]): Promise<void>;
  /** Where held results go beyond `holdInMemory` recipients (and at stop); null: memory only. */
  holdDir?: string | null;
  holdInMemory?: number;
  /** How often held results are tried again (default 2 s). */
  holdRetryMs?: number;
}

export interface Scheduler {
  start(): Promise<void>;
  /** Something was queued: look for due work now instead of at the next poll. */
  kick(): void;
  /** Stops claiming, gives back what is not started, waits up to graceMs for running attempts. */
  stop(graceMs: number): Promise<void>;
  /** active: jobs running; inFlight and buffered: recipients running and claimed-but-waiting. */
  stats(): { active: number; inFlight: number; buffered: number; delivered: number; deferred: number; failed: number; held: number };
  /** Recipients whose results wait for the store (readiness). */
  held(): number;
}

interface Claimed {
  job: DeliveryJob;
  claimedAt: number;
}

const KICK_DELAY_MS = 5;
/** An attempt must end within this share of its lease (the rest is margin for the write). */
const DEADLINE_SHARE = 0.8;
const RECORD_RETRIES = 5;

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
  // False once a claim came back with less than it asked for and left no domain out: the store
  // had nothing more due then, so a finishing job need not ask again. A kick, the poll, a
  // give-back or a full window sets it. (An empty claim after every delivered message cost a
  // write transaction each at one connection: docs/benchmarks.md.)
  let mayHaveMore = true;
  const counts = { delivered: 0, deferred: 0, failed: 0 };
  const hold = createResultHold({
    dir: o.holdDir ?? null,
    maxInMemory: o.holdInMemory ?? 10_000,
    onSpillError: (err) =>
      o.logger.error({ evt: 'queue', err: err.message }, 'held delivery results could not be written to the local disk; kept in memory'),
  });
  const recorder = createRecorder(o, hold);
  let holdTimer: NodeJS.Timeout | null = null;
  let flushingHold: Promise<boolean> | null = null;

  /** Writes held results; true when none are left. */
  function flushHold(): Promise<boolean> {
    if (!hold.size()) return Promise.resolve(true);
    flushingHold ??= (async () => {
      const stale = hold.dropOlderThan(Date.now() - o.leaseMs);
      if (stale)
        o.logger.error(
          { evt: 'queue', recipients: stale },
          'held delivery results outlived their leases and are dropped: those recipients may be delivered again',
        );
      const before = hold.size();
      let done: HeldResult[] = [];
      try {
        done = await hold.flush(
          async (updates) => {
            const { finished } = await o.queue.record(updates);
            if (finished.length)
              await o
                .onFinished(finished)
                .catch((err: Error) => o.logger.warn({ evt: 'queue', err: err.message }, 'removing delivered bodies failed'));
          },
          (e, err) =>
            o.logger.error(
              { evt: 'queue', err: err.message, recipients: e.updates.length },
              'the store refuses these held delivery results; the leases will bring them back',
            ),
        );
      } catch (err) {
        o.logger.debug({ evt: 'queue', err: (err as Error).message }, 'held delivery results (from disk) cannot be written yet');
      }
      if (hold.size()) o.logger.warn({ evt: 'queue', held: hold.size() }, 'held delivery results still cannot be written; keeping them');
      if (before !== hold.size())
        o.logger.info({ evt: 'queue', written: before - hold.size(), held: hold.size() }, 'held delivery results written');
      for (const e of done) {
        if (e.job && o.onRecorded)
          await o
            .onRecorded(e.job, e.updates)
            .catch((err: Error) => o.logger.warn({ evt: 'queue', err: err.message }, 'after-delivery step failed'));
      }
      return hold.size() === 0;
    })().finally(() => {
      flushingHold = null;
    });
    return flushingHold;
  }
  // one controller per running job (aborted together at stop): a single shared signal would
  // collect a listener per attempt and warn (MaxListenersExceededWarning) beyond ten
  const aborts = new Set<AbortController>();
  const bufferedByDest = new Map<string, number>();
  const addBuffered = (domain: string, n: number) => {
    const v = (bufferedByDest.get(domain) ?? 0) + n;
    if (v > 0) bufferedByDest.set(domain, v);
    else bufferedByDest.delete(domain);
  };
  /** Domains with enough claimed work for now: left out of the next claim. */
  const saturated = () => [...bufferedByDest].filter(([, n]) => n >= 2 * o.perDestination).map(([d]) => d);

  function schedulePoll(ms: number) {
    if (stopping || timer) return;
    timer = setTimeout(() => {
      timer = null;
      mayHaveMore = true;
      void fill();
    }, ms);
  }

  async function fill(): Promise<void> {
    if (stopping) return;
    if (claiming) {
      again = true;
      return;
    }
    const room = o.window - bufferedRecipients - activeRecipients;
    if (room <= 0) {
      mayHaveMore = true; // a finishing job calls fill again
      return;
    }
    // results held for the store come first: nothing new is claimed until they are written
    if (hold.size() && !(await flushHold())) return schedulePoll(o.holdRetryMs ?? 2000);
    claiming = true;
    again = false;
    let got = 0;
    let failed = false;
    let skipped = false; // domains left out may have more due
    try {
      const now = o.clock.now();
      const excludeDomains = saturated();
      skipped = excludeDomains.length > 0;
      const jobs = await o.queue.claim({ owner: o.owner, now, leaseMs: o.leaseMs, limit: room, excludeDomains });
      for (const job of jobs) {
        got += job.recipients.length;
        if (stopping) {
          giveBack(job);
          continue;
        } // stop() ran while this claim was out
        buffer.push({ job, claimedAt: now });
        bufferedRecipients += job.recipients.length;
        addBuffered(job.domain, job.recipients.length);
      }
    } catch (err) {
      failed = true;
      o.logger.error({ evt: 'queue', err: (err as Error).message }, 'claiming due recipients failed; retrying');
    } finally {
      claiming = false;
    }
    mayHaveMore = failed || again || skipped || got >= room;
    dispatch();
    if (stopping) return;
    if (again || got >= room) queueMicrotask(() => void fill());
    else schedulePoll(o.pollMs);
  }

  function dispatch(): void {
    if (stopping) return;
    const keep: Claimed[] = [];
    const now = o.clock.now();
    for (const c of buffer) {
      const stale = now - c.claimedAt > o.leaseMs / 2; // too little of its lease left for an attempt
      const busy = byDest.get(c.job.domain) ?? 0;
      if (!stale && (active >= o.concurrency || busy >= o.perDestination)) {
        keep.push(c);
        continue;
      }
      bufferedRecipients -= c.job.recipients.length;
      addBuffered(c.job.domain, -c.job.recipients.length);
      if (stale) giveBack(c.job);
      else start(c.job);
    }
    buffer = keep;
  }

  function start(job: DeliveryJob): void {
    active++;
    activeRecipients += job.recipients.length;
    byDest.set(job.domain, (byDest.get(job.domain) ?? 0) + 1);
    const abort = new AbortController();
    aborts.add(abort);
    const p = (async () => {
      let updates: RecipientUpdate[];
      try {
        updates = await o.run(job, { deadline: job.lease.until - (1 - DEADLINE_SHARE) * o.leaseMs, signal: abort.signal });
      } catch (err) {
        o.logger.error(
          { evt: 'delivery', qid: job.message.id, domain: job.domain, err: (err as Error).message },
          'delivery job failed; recipients given back',
        );
        updates = giveBackUpdates(job, o.clock.now());
      } finally {
        aborts.delete(abort);
      }
      for (const u of updates) if (u.attempted) counts[u.state]++;
      // a write that keeps failing is held (see the recorder) and written later
      const written = await recorder.add(updates, job).then(
        (r) => r === 'written',
        () => false,
      );
      if (written && o.onRecorded) {
        await o
          .onRecorded(job, updates)
          .catch((err: Error) => o.logger.warn({ evt: 'queue', qid: job.message.id, err: err.message }, 'after-delivery step failed'));
      }
    })().finally(() => {
      active--;
      activeRecipients -= job.recipients.length;
      const n = byDest.get(job.domain)! - 1;
      if (n) byDest.set(job.domain, n);
      else byDest.delete(job.domain);
      running.delete(p);
      dispatch();
      if (mayHaveMore) void fill();
    });
    running.add(p);
  }

  function giveBack(job: DeliveryJob): void {
    mayHaveMore = true; // due again at once
    void recorder.add(giveBackUpdates(job, o.clock.now())).catch((err: Error) => {
      o.logger.warn({ evt: 'queue', qid: job.message.id, err: err.message }, 'giving back a claim failed; its lease will expire');
    });
  }

  return {
    async start() {
      // results a previous run could not write go in before its leases are released
      hold.load();
      if (hold.size()) {
        o.logger.warn({ evt: 'queue', held: hold.size() }, 'delivery results held by the previous run: writing them');
        await flushHold();
      }
      holdTimer = setInterval(() => {
        if (hold.size())
          void flushHold().then((empty) => {
            if (empty) void fill();
          });
      }, o.holdRetryMs ?? 2000);
      holdTimer.unref();
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
        mayHaveMore = true;
        if (timer) {
          clearTimeout(timer);
          timer = null;
        }
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
      bufferedByDest.clear();
      for (const c of waiting) giveBack(c.job);
      const all = Promise.allSettled([...running]);
      const finished = await Promise.race([all.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
      if (!finished) {
        o.logger.warn(
          { evt: 'stop', inFlight: running.size },
          'attempts still running at the end of the grace period: closing their connections',
        );
        for (const a of aborts) a.abort(); // attempts end at once (deferred); their results are still written
        await all;
      }
      await recorder.drain();
      if (holdTimer) clearInterval(holdTimer);
      if (hold.size() && !(await flushHold())) {
        hold.spillAll();
        o.logger.warn({ evt: 'stop', held: hold.size() }, 'delivery results the store did not take are kept on disk for the next start');
      }
    },
    stats: () => ({ active, inFlight: activeRecipients, buffered: bufferedRecipients, ...counts, held: hold.size() }),
    held: () => hold.size(),
  };
}

/** Updates that give a claim back untried: due again at `dueAt` (now), attempt count unchanged. */
export function giveBackUpdates(job: DeliveryJob, now: number, dueAt = now, reply = 'given back without an attempt'): RecipientUpdate[] {
  return job.recipients.map((r) => ({
    messageId: job.message.id,
    idx: r.idx,
    state: 'deferred',
    nextAttemptAt: dueAt,
    at: now,
    reply,
    category: 'other',
    remoteHost: null,
    attempted: false,
    lease: job.lease,
  }));
}

/**
 * Group commit of attempt results: one store transaction for everything that finished
 * meanwhile. A failed write is tried again (with a growing pause) before it is given up: the
 * outcome of a delivery must not be lost to a busy database.
 */
function createRecorder(o: SchedulerOptions, hold: ResultHold) {
  type Outcome = 'written' | 'held';
  let pending: { updates: RecipientUpdate[]; job?: DeliveryJob; resolve: (r: Outcome) => void; reject: (e: Error) => void }[] = [];
  let flushing: Promise<void> | null = null;

  async function writeAlone(b: (typeof pending)[number]): Promise<Error | null> {
    try {
      const { finished } = await o.queue.record(b.updates);
      if (finished.length)
        await o
          .onFinished(finished)
          .catch((err: Error) => o.logger.warn({ evt: 'queue', err: err.message }, 'removing delivered bodies failed'));
      b.resolve('written');
      return null;
    } catch (err) {
      return err as Error;
    }
  }

  /** Results the store did not take: dropped when it took others (it refuses these), else held. */
  function notWritten(failed: { b: (typeof pending)[number]; err: Error }[], storeTookOthers: boolean): void {
    for (const { b, err } of failed) {
      if (storeTookOthers) {
        o.logger.error(
          { evt: 'queue', err: err.message, recipients: b.updates.length },
          'the store refuses these delivery results; the leases will bring them back',
        );
        b.reject(err);
      } else {
        o.logger.error(
          { evt: 'queue', err: err.message, recipients: b.updates.length },
          'writing delivery results failed; holding them until the store takes them',
        );
        hold.add({ updates: b.updates, job: b.job, at: Date.now() });
        b.resolve('held');
      }
    }
  }

  async function loop(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (pending.length) {
      const batch = pending;
      pending = [];
      const updates = batch.flatMap((b) => b.updates);
      for (let attempt = 1; ; attempt++) {
        try {
          const { finished } = await o.queue.record(updates);
          if (finished.length)
            await o
              .onFinished(finished)
              .catch((err: Error) => o.logger.warn({ evt: 'queue', err: err.message }, 'removing delivered bodies failed'));
          for (const b of batch) b.resolve('written');
          break;
        } catch (err) {
          if (attempt < RECORD_RETRIES) {
            o.logger.warn({ evt: 'queue', err: (err as Error).message, attempt }, 'writing delivery results failed; trying again');
            await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
            continue;
          }
          // one result the store cannot take (a byte it refuses) must not sink the others
          // written with it: each attempt's results are tried alone before they are given up
          if (batch.length > 1) {
            const failed: { b: (typeof batch)[number]; err: Error }[] = [];
            for (const b of batch) {
              const e = await writeAlone(b);
              if (e) failed.push({ b, err: e });
            }
            notWritten(failed, failed.length < batch.length);
            break;
          }
          notWritten([{ b: batch[0]!, err: err as Error }], false);
          break;
        }
      }
    }
    flushing = null;
  }

  return {
    add(updates: RecipientUpdate[], job?: DeliveryJob): Promise<Outcome> {
      if (!updates.length) return Promise.resolve('written');
      return new Promise<Outcome>((resolve, reject) => {
        pending.push({ updates, job, resolve, reject });
        flushing ??= loop();
      });
    },
    async drain() {
      while (flushing) await flushing;
    },
  };
}
