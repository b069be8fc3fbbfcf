/** Customer webhooks: endpoints, events, and the outbox's deliveries. */
import type { Lease } from './queue.ts';

/** What a customer's webhook endpoint may subscribe to (ping: `postern webhook test`, always sent). */
export type WebhookEventType =
  | 'delivered'
  | 'deferred'
  | 'bounced'
  | 'held'
  | 'limit-reached'
  | 'ping'
  | 'customer.suspended'
  | 'customer.resumed'
  | 'customer.removed';

/** A customer's HTTPS endpoint that receives signed event notifications. */
export interface WebhookEndpoint {
  id: string;
  customerId: number;
  customerName: string;
  url: string;
  /** The signing secret, sealed by credentials' secret box; never stored in clear. */
  secret: string;
  events: WebhookEventType[];
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** One event for the outbox: queued for every enabled endpoint of the customer subscribed to its type (or for endpointId only). */
export interface WebhookEventInput {
  /** Unique per event; the same id twice for one endpoint is stored once (coalescing, crash replays). */
  id: string;
  type: WebhookEventType;
  customerId: number;
  /** When it happened (ms). */
  at: number;
  data: Record<string, unknown>;
  /** Only this endpoint of the customer, whatever it subscribed to (ping). */
  endpointId?: string;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

/** One event for one endpoint in the outbox, with the outcome of its last attempt. */
export interface WebhookDelivery {
  id: number;
  endpointId: string;
  customerName: string;
  eventId: string;
  eventType: WebhookEventType;
  eventAt: number;
  data: Record<string, unknown>;
  attempts: number;
  state: WebhookDeliveryState;
  /** When the next attempt is due; while an attempt runs, when its lease ends. */
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: number | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** A claimed delivery with where and how to send it. */
export interface WebhookJob extends WebhookDelivery {
  url: string;
  secret: string;
  lease: Lease;
}

/** The outcome of one attempt, written only while the claim holds. */
export interface WebhookAttemptResult {
  id: number;
  lease: Lease;
  at: number;
  state: WebhookDeliveryState;
  /** The next attempt (pending only). */
  nextAttemptAt: number;
  status: number | null;
  error: string | null;
}
