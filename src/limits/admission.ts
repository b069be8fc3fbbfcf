/**
 * Enqueue admission: whether a new message is queued, held or refused, decided once for both
 * stores. The store gathers the facts inside its enqueue transaction (the sender's state, the
 * limit decision over its locked counters, the sender's held mail), admit() decides, and the
 * store writes what it decided (and counts a queued message against its limits). Pure.
 */
import type { CustomerStatus, HoldReason, MailboxStatus, NewMessage } from '../core/index.ts';
import type { Exceeded, LimitAction } from './rules.ts';

/** What the enqueue did with one message under the sending limits. */
export type EnqueueVerdict =
  | { id: string; outcome: 'queued' }
  | { id: string; outcome: 'held'; exceeded: Exceeded[]; reason?: 'mailbox-held' | 'content' }
  | {
      id: string;
      outcome: 'refused';
      action: 'defer' | 'reject';
      exceeded: Exceeded[];
      reason?: 'mailbox-held' | 'held-full' | 'customer-suspended' | 'mailbox-suspended';
    };

/** The fields of a message admission reads. */
export type Admittable = Pick<NewMessage, 'id' | 'customerId' | 'mailboxId' | 'siteId' | 'onSenderHold' | 'contentHold' | 'heldCap'>;

/** The sender as the transaction sees it (read only for a message that checks its sender: onSenderHold). */
export interface SenderFacts {
  /** Its customer's status, or null when the customer is gone (or the message has none). */
  customer: CustomerStatus | null;
  /** Its mailbox's status, or null when the mailbox is gone (or the message has none). */
  mailbox: MailboxStatus | null;
  /** Its mailbox (or, without one, its site) is on hold. */
  held: boolean;
}

export interface AdmissionFacts {
  /** Set when the message checks its sender (onSenderHold); admit() throws when it is needed and missing. */
  sender?: SenderFacts;
  /** What the sending limits say (decide() over the message's counters), or null when no rule applies. */
  limits: { action: LimitAction | null; exceeded: Exceeded[] } | null;
  /** Messages of its mailbox (or site) held so far, this batch's included; null when not read (see needsHeldCount). */
  heldCount: number | null;
}

/**
 * The verdict: a customer or mailbox suspended or removed since the session logged in is
 * refused; a sender on hold gets its mail held (or refused, per onSenderHold); then the
 * content scanner's hold; then the sending limits. A message that would be held beyond its
 * sender's cap of held mail is deferred instead.
 */
export function admit(m: Admittable, facts: AdmissionFacts): EnqueueVerdict {
  const v =
    senderVerdict(m, facts.sender) ??
    (m.contentHold ? { id: m.id, outcome: 'held', exceeded: [], reason: 'content' } : limitVerdict(m.id, facts.limits));
  return capped(m, v, facts.heldCount);
}

function senderVerdict(m: Admittable, s: SenderFacts | undefined): EnqueueVerdict | null {
  if (!m.onSenderHold) return null;
  if (!s) throw new Error(`admission of ${m.id}: its sender was not read`);
  if (m.customerId !== null && s.customer !== 'active')
    return { id: m.id, outcome: 'refused', action: 'reject', exceeded: [], reason: 'customer-suspended' };
  if (m.mailboxId && s.mailbox !== 'active')
    return { id: m.id, outcome: 'refused', action: 'reject', exceeded: [], reason: 'mailbox-suspended' };
  if (!s.held) return null;
  return m.onSenderHold === 'refuse'
    ? { id: m.id, outcome: 'refused', action: 'reject', exceeded: [], reason: 'mailbox-held' }
    : { id: m.id, outcome: 'held', exceeded: [], reason: 'mailbox-held' };
}

function limitVerdict(id: string, d: AdmissionFacts['limits']): EnqueueVerdict {
  if (d?.action === 'defer' || d?.action === 'reject') return { id, outcome: 'refused', action: d.action, exceeded: d.exceeded };
  // held mail is not sent, so it uses no quota (it must not fill the server's or the customer's
  // limits for everyone else); its amount is bounded by the sender's held cap instead
  if (d?.action === 'hold') return { id, outcome: 'held', exceeded: d.exceeded };
  return { id, outcome: 'queued' };
}

function capped(m: Admittable, v: EnqueueVerdict, heldCount: number | null): EnqueueVerdict {
  if (v.outcome !== 'held' || m.heldCap === undefined || heldCount === null || heldCount < m.heldCap) return v;
  return { id: m.id, outcome: 'refused', action: 'defer', exceeded: v.exceeded, reason: 'held-full' };
}

/** Why a message admitted as held is held (its queue row's hold reason), or null when it is not held. */
export function holdReasonOf(v: EnqueueVerdict): HoldReason | null {
  if (v.outcome !== 'held') return null;
  return v.reason === 'content' ? 'content' : v.reason === 'mailbox-held' ? 'sender' : 'limit';
}

/**
 * Whether a verdict admit() gave with heldCount null depends on the sender's held mail: it holds
 * the message of a sender whose held mail is capped. The store then reads the count and admits
 * again (so the count is read only for the few messages that would be held).
 */
export const needsHeldCount = (m: Admittable, v: EnqueueVerdict): boolean =>
  v.outcome === 'held' && m.heldCap !== undefined && Boolean(m.mailboxId || m.siteId);
