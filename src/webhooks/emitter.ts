/**
 * The way events get into the outbox without slowing mail down: emit() only buffers; the buffer
 * is written in one batch shortly after (or when it is full), and a failed write is logged and
 * counted, never thrown at the caller. Events already written recently (limit-reached within
 * its window) are not written again.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registeredCounter } from './counter.ts';
import type { Clock, DeliveryJob, WebhookEventInput } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { EnqueueVerdict } from '../limits/index.ts';
import { deliveryEvents, senderHeldEvent, verdictEvents, type MessageFacts, type RecipientResult } from './events.ts';

export interface WebhookEmitter {
  emit(...events: WebhookEventInput[]): void;
  /** Outcomes of a delivery attempt (delivered, first deferral, bounced). */
  deliveryResults(job: DeliveryJob, results: RecipientResult[]): void;
  /** The store's verdict on a submitted message (held, limit-reached). */
  verdict(m: MessageFacts, v: EnqueueVerdict): void;
  /** A mailbox or site put on hold. */
  senderHeld(held: { kind: 'mailbox' | 'site'; name: string; customerId: number }, reason: string): void;
  /** Writes what is buffered now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface EmitterDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Told after a batch added deliveries (the dispatcher of this process sends at once). */
  onEnqueued?: () => void;
  registry?: Registry;
  flushMs?: number;
  batchSize?: number;
  /** Most events buffered while the store cannot be written; more are dropped (and counted). */
  maxBuffered?: number;
}

export function createEmitter(deps: EmitterDeps): WebhookEmitter {
  const flushMs = deps.flushMs ?? 100;
  const batchSize = deps.batchSize ?? 500;
  const maxBuffered = deps.maxBuffered ?? 10_000;
  const lost = registeredCounter(deps.registry, {
    name: 'postern_webhook_events_lost_total',
    help: 'Webhook events that could not be written to the outbox (store failure, full buffer).',
  });
  const buffer: WebhookEventInput[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  /** Event ids written recently, with until when to remember them. */
  const recent = new Map<string, number>();

  function write(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = buffer.splice(0, buffer.length);
    if (!batch.length) return writing;
    writing = writing.then(async () => {
      for (let i = 0; i < batch.length; i += batchSize) {
        const part = batch.slice(i, i + batchSize);
        try {
          const added = await deps.store.webhooks.enqueue(part, deps.clock.now());
          if (added) deps.onEnqueued?.();
        } catch (err) {
          lost.inc(part.length);
          deps.logger.error(
            { evt: 'webhook', err: (err as Error).message, events: part.length, result: 'lost' },
            'webhook events could not be written to the outbox',
          );
        }
      }
    });
    return writing;
  }

  function emit(...events: WebhookEventInput[]): void {
    const now = deps.clock.now();
    for (const e of events) {
      if ((recent.get(e.id) ?? 0) > now) continue;
      if (e.type === 'limit-reached') recent.set(e.id, Date.parse(String(e.data.windowEnds)) || now + 60_000);
      if (buffer.length >= maxBuffered) {
        lost.inc();
        continue;
      }
      buffer.push(e);
    }
    if (recent.size > 10_000) for (const [id, until] of recent) if (until <= now) recent.delete(id);
    if (buffer.length >= batchSize) void write();
    else if (buffer.length && !timer) {
      timer = setTimeout(() => void write(), flushMs);
      timer.unref();
    }
  }

  const guarded =
    <A extends unknown[]>(what: string, fn: (...a: A) => WebhookEventInput[]) =>
    (...a: A): void => {
      try {
        emit(...fn(...a));
      } catch (err) {
        deps.logger.error({ evt: 'webhook', err: (err as Error).message }, `webhook events of ${what} could not be built`);
      }
    };

  return {
    emit,
    deliveryResults: guarded('a delivery', deliveryEvents),
    verdict: guarded('a submission', verdictEvents),
    senderHeld: guarded('a hold', (held, reason: string) => [senderHeldEvent(held, reason, deps.clock.now())]),
    flush: write,
    close: write,
  };
}
