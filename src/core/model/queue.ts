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

export interface Lease {
  owner: string;
  until: number;
}

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

/** Who a message counts for under the sending limits: a mailbox or a site of a customer, and the sending domain. */
export interface LimitScope {
  customer: string;
  domain: string;
  mailbox?: string;
  site?: string;
}

export interface NewRecipient {
  address: string;
  notify?: string | null; // DSN NOTIFY, comma separated
  orcpt?: string | null;
}

export interface NewMessage {
  id: string;
  customerId: number | null;
  mailboxId: number | null;
  /** The site that sent it (sendmail, the send API with a site token), or null. */
  siteId?: number | null;
  sender: string; // '' is the null sender
  size: number;
  /** Exactly one of these: a spool file (relative to the spool root) or the body itself,
   *  stored in the queue row (small messages: one commit makes them durable). */
  bodyPath: string | null;
  body: Uint8Array | null;
  messageIdHeader: string | null;
  clientIp: string;
  authUser: string | null;
  listener: string;
  dsnRet: string | null;
  dsnEnvid: string | null;
  createdAt: number;
  recipients: NewRecipient[];
  /** The body has bytes above 127 (sent with BODY=8BITMIME). */
  eightBit?: boolean;
  /** The client asked for SMTPUTF8: the next hop must offer it. */
  smtputf8?: boolean;
  /** Whom the message counts for under the sending limits (none: not limited, e.g. bounces). */
  limitScope?: LimitScope;
  /**
   * What to do when the message's mailbox or site is on hold (unset: the hold is not checked).
   * Set, the message is also refused when its customer is not active (suspended or removed
   * meanwhile), or its mailbox is suspended or gone (a session that logged in before).
   */
  onSenderHold?: 'hold' | 'refuse';
  /** Most held messages of its mailbox (or site); one more that would be held is deferred (451) instead. */
  heldCap?: number;
  /** Header fields (CRLF-terminated: DKIM-Signature, scan results) that delivery puts on top of the body, or null. */
  topHeaders?: string | null;
  /** The content scanner asked to hold it for the postmaster. */
  contentHold?: boolean;
  /** Keep its life for message tracking (the tracked row and its first events are written in the enqueue transaction). */
  track?: boolean;
  /** Its Subject (decoded, at most 200 characters) for message tracking, or null. */
  subject?: string | null;
}
