/**
 * A recipient that hard-bounced (the remote server said the mailbox does not exist or is
 * disabled) is suppressed for its message's customer, by a store call of its own after the
 * delivery results are written (never inside the queue's transaction).
 */
import type { Logger } from 'pino';
import type { Clock, DeliveryJob, RecipientUpdate } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { isHardBounce } from '../delivery/index.ts';
import type { Metrics } from '../observability/index.ts';

const DAY = 86_400_000;

/**
 * The recipients of a job's results that hard-bounced at a remote server. Not: a customer-less
 * message, a cancelled one, expiry (4.4.7), or anything Postern decided itself (no remote host).
 */
export function hardBounced(job: DeliveryJob, updates: readonly RecipientUpdate[]): { address: string; reply: string }[] {
  if (job.message.customerId === null || job.message.cancelled) return [];
  return updates.flatMap((u) => {
    if (u.state !== 'failed' || !u.attempted || u.remoteHost === null || u.category === 'expired' || !isHardBounce(u.reply)) return [];
    const r = job.recipients.find((x) => x.idx === u.idx);
    return r ? [{ address: r.address, reply: u.reply }] : [];
  });
}

export interface SuppressorDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  days: number;
  metrics?: Metrics;
}

/** What the scheduler calls after a job's results are written: its hard bounces become suppressions. */
export function createBounceSuppressor(deps: SuppressorDeps): (job: DeliveryJob, updates: RecipientUpdate[]) => Promise<void> {
  return async (job, updates) => {
    if (deps.days <= 0) return;
    const customerId = job.message.customerId;
    for (const b of hardBounced(job, updates)) {
      const now = deps.clock.now();
      try {
        await deps.store.suppressions.add({
          customerId: customerId!,
          address: b.address,
          reason: b.reply,
          source: 'bounce',
          now,
          until: now + deps.days * DAY,
        });
        deps.metrics?.suppressions.inc();
        deps.logger.info(
          { evt: 'suppress', qid: job.message.id, to: b.address, customerId, days: deps.days, reply: b.reply },
          'recipient suppressed after a hard bounce',
        );
      } catch (err) {
        // the bounce itself is recorded; only the suppression is lost (the next bounce adds it)
        deps.logger.error(
          { evt: 'suppress', qid: job.message.id, to: b.address, err: (err as Error).message },
          'could not suppress a hard-bounced recipient',
        );
      }
    }
  };
}
