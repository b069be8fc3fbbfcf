/**
 * The events webhooks report, built from what the rest of Postern knows (pure functions): a
 * recipient delivered, deferred for the first time, or failed (bounced); a message held at
 * intake; a mailbox or site put on hold; a submission held or refused by a sending limit; the
 * customer account suspended, resumed or removed.
 * Event ids are derived from what happened (message, recipient, limit window), so the same
 * fact reported twice (a crash replay, several nodes) is stored once per endpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EnqueueVerdict } from '../limits/index.ts';
import type { DeliveryJob, RecipientUpdate, WebhookEventInput, WebhookEventType } from '../core/index.ts';

export const EVENT_TYPES: readonly WebhookEventType[] = [
  'delivered',
  'deferred',
  'bounced',
  'held',
  'limit-reached',
  'customer.suspended',
  'customer.resumed',
  'customer.removed',
];

/** A stable event id for a fact (the same key gives the same id). */
export const eventId = (key: string): string => `evt_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
export const randomEventId = (): string => `evt_${randomBytes(12).toString('hex')}`;

export interface RecipientResult {
  recipient: { idx: number; address: string; attempts: number };
  update: RecipientUpdate;
}

/**
 * delivered and bounced per recipient; deferred only for a recipient's first attempt (one event
 * per recipient, not one per retry: the bounce or delivery that follows says the rest).
 */
export function deliveryEvents(job: DeliveryJob, results: RecipientResult[]): WebhookEventInput[] {
  const customerId = job.message.customerId;
  if (customerId === null) return [];
  const out: WebhookEventInput[] = [];
  for (const { recipient: r, update: u } of results) {
    if (!u.attempted && !job.message.cancelled) continue;
    const type: WebhookEventType | null =
      u.state === 'delivered' ? 'delivered' : u.state === 'failed' ? 'bounced' : r.attempts === 0 ? 'deferred' : null;
    if (!type) continue;
    out.push({
      id: eventId(`${job.message.id}/${r.idx}/${type}`),
      type,
      customerId,
      at: u.at,
      data: {
        queueId: job.message.id,
        messageId: job.message.messageIdHeader,
        sender: job.message.sender,
        recipient: r.address,
        reply: u.reply,
        remoteHost: u.remoteHost,
        category: u.category,
        attempts: r.attempts + (u.attempted ? 1 : 0),
        ...(type === 'deferred' ? { nextAttemptAt: new Date(u.nextAttemptAt).toISOString() } : {}),
      },
    });
  }
  return out;
}

/** What intake knows about a message when the store gave its verdict. */
export interface MessageFacts {
  queueId: string;
  customerId: number | null;
  sender: string;
  recipients: string[];
  messageId: string | null;
  /** The mailbox or site it came from ("site:NAME"), if any. */
  from: string | null;
  at: number;
}

const ruleOf = (e: { rule: { level: string; target: string; window: string; metric: string; max: number; action: string } }) => ({
  level: e.rule.level,
  target: e.rule.target,
  window: e.rule.window,
  metric: e.rule.metric,
  max: e.rule.max,
  action: e.rule.action,
});

/** held (a message held at intake) and limit-reached (one per customer, limit and window). */
export function verdictEvents(m: MessageFacts, v: EnqueueVerdict): WebhookEventInput[] {
  if (m.customerId === null || v.outcome === 'queued') return [];
  const customerId = m.customerId;
  const out: WebhookEventInput[] = [];
  const base = { queueId: m.queueId, messageId: m.messageId, sender: m.sender, recipients: m.recipients, submittedBy: m.from };
  if (v.outcome === 'held') {
    const reason = v.reason === 'mailbox-held' ? 'sender' : (v.reason ?? 'limit');
    out.push({
      id: eventId(`${m.queueId}/held`),
      type: 'held',
      customerId,
      at: m.at,
      data: { ...base, reason, limits: v.exceeded.map(ruleOf) },
    });
  }
  if (v.reason === 'mailbox-held' || v.reason === 'held-full' || v.reason === 'content') return out;
  for (const e of v.exceeded) {
    const r = e.rule;
    out.push({
      id: eventId(`limit/${customerId}/${r.level}/${r.target}/${r.window}/${r.metric}/${e.until}`),
      type: 'limit-reached',
      customerId,
      at: m.at,
      data: {
        ...base,
        limit: ruleOf(e),
        used: e.used,
        windowEnds: new Date(e.until).toISOString(),
        outcome: v.outcome === 'held' ? 'held' : v.action,
      },
    });
  }
  return out;
}

/** A mailbox or site put on hold (suspected compromise). */
export function senderHeldEvent(
  held: { kind: 'mailbox' | 'site'; name: string; customerId: number },
  reason: string,
  at: number,
): WebhookEventInput {
  return {
    id: eventId(`hold/${held.kind}/${held.name}/${at}`),
    type: 'held',
    customerId: held.customerId,
    at,
    data: { [held.kind]: held.name, reason: 'contain', detail: reason },
  };
}

/** The customer account was suspended, resumed or removed (the last one is sent before its endpoints go with it). */
export function customerEvent(
  type: 'customer.suspended' | 'customer.resumed' | 'customer.removed',
  customer: { id: number; name: string },
  at: number,
  data: Record<string, unknown>,
): WebhookEventInput {
  return {
    id: eventId(`customer/${type}/${customer.id}/${at}`),
    type,
    customerId: customer.id,
    at,
    data: { customer: customer.name, ...data },
  };
}
