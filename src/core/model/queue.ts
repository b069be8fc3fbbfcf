/** A message in the queue: its state, recipients, attempts, the job handed to delivery and the result written back. */

/** cancelled: deleted by an operator with a bounce; the delivering node fails and reports it. */
export type MessageState = 'queued' | 'held' | 'cancelled';

/** Why a message is held: a sending limit, its mailbox or site is on hold, the content scanner, or the postmaster. */
export type HoldReason = 'limit' | 'sender' | 'content' | 'postmaster' | 'customer';

export type RecipientState = 'queued' | 'delivered' | 'deferred' | 'failed';

export interface QueuedRecipient {
  idx: number;
  address: string;
  domain: string;
  state: RecipientState;
  attempts: number;
  /** When the next attempt is due; while an attempt runs, when its lease ends. */
  nextAttemptAt: number;
  lastReply: string | null;
  lastAttemptAt: number | null;
  remoteHost: string | null;
  category: string | null;
  notify: string | null;
  orcpt: string | null;
  /** The node whose attempt is in flight (a lease), or null. */
  leaseOwner: string | null;
}

/** One delivery attempt of one recipient, as `queue show` lists them. */
export interface AttemptRecord {
  recipientIdx: number;
  at: number;
  outcome: 'delivered' | 'deferred' | 'failed';
  category: string;
  reply: string;
  remoteHost: string | null;
}

/** What the scheduler hands to delivery: the recipients of one message at one domain. */
export interface DeliveryJob {
  message: {
    id: string;
    customerId: number | null;
    /** The site that sent it, or null (its egress pool may be the site's). */
    siteId?: number | null;
    sender: string;
    size: number;
    bodyPath: string | null;
    messageIdHeader: string | null;
    listener: string;
    dsnRet: string | null;
    dsnEnvid: string | null;
    createdAt: number;
    /** Deleted by an operator who asked for a bounce: fail every recipient without an attempt. */
    cancelled: boolean;
    eightBit: boolean;
    smtputf8: boolean;
    /** Header fields to put on top of the body (DKIM-Signature, scan results), or null. */
    topHeaders: string | null;
  };
  domain: string;
  recipients: { idx: number; address: string; attempts: number; notify: string | null; orcpt: string | null; delayNotified: boolean }[];
  /** The claim: results are written only while it still holds (see RecipientUpdate.lease). */
  lease: Lease;
}

export interface Lease { owner: string; until: number }

/** The result of an attempt for one recipient, written back by `record`. */
export interface RecipientUpdate {
  messageId: string;
  idx: number;
  state: 'delivered' | 'deferred' | 'failed';
  /** Defer to this time (ignored for final states). */
  nextAttemptAt: number;
  at: number;
  reply: string;
  category: string;
  remoteHost: string | null;
  /** False when nothing was tried (e.g. given back at shutdown): the attempt count stays. */
  attempted: boolean;
  delayNotified?: boolean;
  /**
   * The claim this result belongs to: it is written only if the recipient is still pending and
   * leased by it (a late result of an attempt whose lease ran out, and was claimed again, is
   * dropped instead of overwriting the newer one). Without it the update always applies.
   */
  lease?: Lease;
  /** The delivery status notification queued about this result (message tracking records it), with its queue id. */
  notice?: { kind: 'failure' | 'delay' | 'success'; queueId: string };
}

export interface QueuedMessage {
  id: string;
  customerId: number | null;
  customerName: string | null;
  dsnRet: string | null;
  dsnEnvid: string | null;
  sender: string;
  size: number;
  state: MessageState;
  /** Why it is held (null when it is not, or was held before this was recorded). */
  holdReason: HoldReason | null;
  bodyPath: string | null; // null: the body is stored inline (see inlineBody)
  messageIdHeader: string | null;
  authUser: string | null;
  /** The site that sent it, or null. */
  siteName: string | null;
  clientIp: string;
  listener: string;
  createdAt: number;
  recipients: QueuedRecipient[];
}

/** Far in the future: the due time of a held message's recipients. */
export const NEVER = 8_640_000_000_000_000;

export interface QueueDepthCounts {
  messages: Record<MessageState, number>;
  recipients: { queued: number; deferred: number };
}
