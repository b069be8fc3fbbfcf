/**
 * The outbound job (what the scheduler runs for each claimed job; Postfix's qmgr deciding after
 * smtp's reply): reads the message's state again (the postmaster may have held, cancelled or
 * deleted it since the claim), hands the job to a `Deliverer`, decides each recipient's next
 * state with the retry policy, asks a `Notifier` for the notices owed, and logs, counts and
 * reports each result. Both are handed in: delivery/ is the Deliverer, bounce/ the Notifier;
 * queue/ imports neither. A notice that cannot be queued keeps its recipient (or its warning)
 * for another try until the message expires.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/index.ts';
import type { QueueRepo } from '../store/index.ts';
import { NEVER, type DeliveryJob, type RecipientUpdate } from '../core/index.ts';
import { countDelivery, type Metrics } from '../observability/index.ts';
import { decide, type Notice, type Outcome, type RetryPolicy } from './retry.ts';
import { giveBackUpdates } from './scheduler.ts';

/** One recipient's outcome of an attempt (delivery/'s RecipientOutcome has this shape). */
export interface DeliveryOutcome extends Outcome {
  address: string;
}

/** One attempt of a job; ctx.deadline ends it in time, ctx.signal at once. */
export interface Deliverer {
  deliver(job: DeliveryJob, ctx: { deadline: number; signal: AbortSignal }): Promise<DeliveryOutcome[]>;
}

/** One recipient in a notice (bounce/'s NoticeItem has this shape). */
export interface NoticeLine {
  address: string;
  orcpt: string | null;
  status: string;
  reply: string;
  remoteHost: string | null;
}

/** Queues a notice about a job; resolves with its queue id, or null when none is due (no loops); throws when it cannot. */
export interface Notifier {
  send(job: DeliveryJob, kind: Notice, lines: NoticeLine[]): Promise<string | null>;
}

/** A recipient and its written update, for whoever reports results (webhooks/). */
export interface RunResult {
  recipient: DeliveryJob['recipients'][number];
  update: RecipientUpdate;
}

export interface RunnerDeps {
  queue: Pick<QueueRepo, 'stateOf'>;
  deliverer: Deliverer;
  notifier: Notifier;
  policy: RetryPolicy;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  /** Delivered, first-deferred and bounced recipients become webhook events. */
  onResults?(job: DeliveryJob, results: RunResult[]): void;
}

/** How long a failed recipient waits when its bounce could not be queued. */
export const NOTICE_RETRY_MS = 5 * 60_000;

const NOTICE_ORDER: Notice[] = ['failure', 'delay', 'success'];

type Decided = { r: DeliveryJob['recipients'][number]; o: DeliveryOutcome } & ReturnType<typeof decide>;

export type Runner = (job: DeliveryJob, ctx: { deadline: number; signal: AbortSignal }) => Promise<RecipientUpdate[]>;

export function createRunner(deps: RunnerDeps): Runner {
  const { clock, logger, policy } = deps;

  async function outcomesOf(job: DeliveryJob, ctx: { deadline: number; signal: AbortSignal }): Promise<DeliveryOutcome[]> {
    if (!job.message.cancelled) return deps.deliverer.deliver(job, ctx);
    return job.recipients.map((r) => ({
      address: r.address,
      outcome: 'failed',
      category: 'other',
      reply: '550 5.0.0 deleted from the queue by the postmaster',
      remoteHost: null,
    }));
  }

  function decideAll(job: DeliveryJob, outcomes: DeliveryOutcome[], now: number): Decided[] {
    const byAddress = new Map(outcomes.map((o) => [o.address, o]));
    return job.recipients.map((r) => {
      const o: DeliveryOutcome = byAddress.get(r.address) ?? {
        address: r.address,
        outcome: 'deferred',
        category: 'other',
        reply: 'no outcome',
        remoteHost: null,
      };
      return { r, o, ...decide(job, r, o, now, policy) };
    });
  }

  async function notify(job: DeliveryJob, kind: Notice, mine: Decided[], now: number): Promise<void> {
    const lines: NoticeLine[] = mine.map((x) => ({
      address: x.r.address,
      orcpt: x.r.orcpt,
      status: x.status,
      reply: x.update.reply,
      remoteHost: x.o.remoteHost,
    }));
    try {
      const queueId = await deps.notifier.send(job, kind, lines);
      // message tracking records the notice with the result, in the same transaction
      if (queueId) for (const x of mine) x.update.notice = { kind, queueId };
    } catch (err) {
      // keep the recipient (or the warning) for later rather than lose the notice, but not
      // past the message's expiry: then the failure stands and the lost notice is logged
      const keep = now - job.message.createdAt < policy.expireMs;
      logger.error(
        { evt: 'bounce', qid: job.message.id, notice: kind, err: (err as Error).message, result: keep ? 'retry' : 'lost' },
        keep ? 'could not queue a notice; trying again later' : 'could not queue a notice; giving up (the message expired)',
      );
      for (const x of mine) {
        if (kind === 'failure' && keep) Object.assign(x.update, { state: 'deferred', nextAttemptAt: now + NOTICE_RETRY_MS });
        if (kind === 'delay') x.update.delayNotified = false;
      }
    }
  }

  function log(job: DeliveryJob, decided: Decided[], now: number): void {
    for (const x of decided) {
      const level = x.update.state === 'delivered' ? 'info' : 'warn';
      logger[level](
        {
          evt: 'delivery',
          qid: job.message.id,
          to: x.r.address,
          result: x.update.state,
          category: x.update.category,
          reply: x.update.reply,
          remote: x.o.remoteHost,
          attempts: x.r.attempts + 1,
          delayMs: now - job.message.createdAt,
          ...(x.update.state === 'deferred' ? { next: new Date(x.update.nextAttemptAt).toISOString() } : {}),
        },
        `recipient ${x.update.state}`,
      );
    }
  }

  return async (job, ctx) => {
    // an operator may have held, cancelled or deleted it since the claim
    const state = await deps.queue.stateOf(job.message.id);
    if (state === null) return [];
    // held after the claim: back to waiting for the operator, untried
    if (state === 'held') return giveBackUpdates(job, clock.now(), NEVER, 'held by the postmaster');
    if (state === 'cancelled') job.message.cancelled = true;
    const outcomes = await outcomesOf(job, ctx);
    const now = clock.now();
    const decided = decideAll(job, outcomes, now);
    for (const kind of NOTICE_ORDER) {
      const mine = decided.filter((x) => x.notice === kind);
      if (mine.length) await notify(job, kind, mine, now);
    }
    log(job, decided, now);
    deps.onResults?.(
      job,
      decided.map((x) => ({ recipient: x.r, update: x.update })),
    );
    if (!job.message.cancelled)
      countDelivery(
        deps.metrics,
        job.message.createdAt,
        now,
        decided.map((x) => x.update),
      );
    return decided.map((x) => x.update);
  };
}
