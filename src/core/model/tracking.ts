/** Message tracking: a message's life as events, and what the console's search and overview show. */

/** What happened to a tracked message: its events, oldest first. */
export type TrackEventType =
  | 'accepted'
  | 'held'
  | 'released'
  | 'retried'
  | 'attempt-deferred'
  | 'delivered'
  | 'failed'
  | 'expired'
  | 'bounced'
  | 'notified'
  | 'cancelled'
  | 'deleted'
  | 'refused';

/** Where a tracked message stands: its recipients' outcome once all are final (partial: some delivered, some failed). */
export type TrackStatus = 'queued' | 'held' | 'deferred' | 'delivered' | 'failed' | 'partial' | 'cancelled' | 'deleted' | 'refused';

export const TRACK_STATUSES: TrackStatus[] = [
  'queued',
  'held',
  'deferred',
  'delivered',
  'failed',
  'partial',
  'cancelled',
  'deleted',
  'refused',
];

export interface TrackEvent {
  at: number;
  type: TrackEventType;
  /** The recipient it concerns (attempt outcomes, bounces), or null (the whole message). */
  recipient: string | null;
  remoteHost: string | null;
  /** The remote reply or what was done (at most 1000 characters), or null. */
  reply: string | null;
  /** The reply's category (delivery/classify), a hold reason, a refusal reason or a notice kind. */
  category: string | null;
  /** Another message it refers to: the queue id of the bounce (DSN) sent. */
  ref: string | null;
}

export interface TrackedMessage {
  queueId: string;
  customerId: number | null;
  customerName: string | null;
  /** The mailbox (login) or the site that sent it. */
  authUser: string | null;
  siteName: string | null;
  sender: string;
  messageId: string | null;
  subject: string | null;
  recipients: string[];
  size: number;
  clientIp: string;
  listener: string;
  createdAt: number;
  updatedAt: number;
  status: TrackStatus;
  /** Sent by a tenant removed since (`customer:NAME` or `domain:NAME`), kept for its retention time; else null. */
  removedTenant: string | null;
  /** Estimated storage of the message with its recipients and events (see store/tracking.ts). */
  bytes: number;
}

export interface TrackingStats {
  messages: number;
  events: number;
  bytes: number;
  oldest: number | null;
}

export interface TrackingSummary {
  /** Events at or after `since`, by type (types with none are left out). */
  events: Partial<Record<TrackEventType, number>>;
  /** Messages accepted at or after `since` by who sent them: the mailbox login, or `site:NAME` for a site; most first. */
  topSenders: { sender: string; customerName: string | null; messages: number; recipients: number }[];
}
