/**
 * Group commit. Sessions that finished DATA hand their message here; one flush makes a whole
 * batch durable: the spool folders are fsynced once, then every queue row is committed in one
 * synchronous transaction. Each caller's promise settles only after its batch is durable, so
 * the 250 is never early, and N concurrent sessions pay for one commit instead of N.
 */
import type { QueueRepo } from '../store/index.ts';
import type { EnqueueVerdict } from '../limits/index.ts';
import type { NewMessage } from '../core/index.ts';
import type { Spool } from '../spool/index.ts';

export interface Enqueuer {
  /** Resolves once durable (or refused by a sending limit, with nothing stored) with the verdict. */
  enqueue(message: NewMessage): Promise<EnqueueVerdict>;
  /** Waits until nothing is pending (for shutdown). */
  drain(): Promise<void>;
  stats(): { batches: number; messages: number };
}

interface Pending {
  message: NewMessage;
  resolve: (v: EnqueueVerdict) => void;
  reject: (err: Error) => void;
}

export function createEnqueuer(deps: { queue: QueueRepo; spool: Spool; maxBatch?: number; onCommitted?: () => void }): Enqueuer {
  const maxBatch = deps.maxBatch ?? 512;
  let pending: Pending[] = [];
  let flushing: Promise<void> | null = null;
  let batches = 0;
  let messages = 0;

  async function flushOnce(batch: Pending[]): Promise<void> {
    try {
      const files = batch.flatMap((p) => (p.message.bodyPath ? [p.message.bodyPath] : []));
      if (files.length) await deps.spool.syncDirs(files);
    } catch (err) {
      // never tried again: after a failed fsync the data may be gone while a second fsync succeeds
      for (const p of batch) p.reject(err as Error);
      return;
    }
    try {
      await commit(batch);
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err as Error);
        return;
      }
      // one message the store cannot take (a byte it refuses) must not fail the sessions that
      // happened to share its group commit: each is tried alone
      for (const p of batch) await commit([p]).catch((e: Error) => p.reject(e));
    }
  }

  async function commit(batch: Pending[]): Promise<void> {
    const verdicts = await deps.queue.enqueueBatch(batch.map((p) => p.message));
    batches++;
    messages += batch.length;
    batch.forEach((p, i) => p.resolve(verdicts[i] ?? { id: p.message.id, outcome: 'queued' }));
    deps.onCommitted?.();
  }

  async function loop(): Promise<void> {
    // Let every session whose data is already in hand join this batch.
    await new Promise<void>((r) => setImmediate(r));
    while (pending.length) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      await flushOnce(batch);
    }
    flushing = null;
  }

  return {
    enqueue(message) {
      return new Promise<EnqueueVerdict>((resolve, reject) => {
        pending.push({ message, resolve, reject });
        flushing ??= loop();
      });
    },
    async drain() {
      while (flushing) await flushing;
    },
    stats: () => ({ batches, messages }),
  };
}
