/** Webhook rows as both adapters read them (same columns in SQLite and PostgreSQL). */
import type { WebhookDelivery, WebhookEndpoint, WebhookEventType } from '../core/index.ts';

type Row = Record<string, unknown>;

/** Events are kept as ",delivered,bounced," so that one LIKE finds a subscriber. */
export const eventsColumn = (events: WebhookEventType[]): string => `,${events.join(',')},`;
export const eventsOf = (col: string): WebhookEventType[] => col.split(',').filter(Boolean) as WebhookEventType[];

export const toEndpoint = (r: Row): WebhookEndpoint => ({
  id: r.id as string,
  customerId: r.customer_id as number,
  customerName: r.customer_name as string,
  url: r.url as string,
  secret: r.secret as string,
  events: eventsOf(r.events as string),
  enabled: r.enabled === 1 || r.enabled === true,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export const toDelivery = (r: Row): WebhookDelivery => ({
  id: r.id as number,
  endpointId: r.endpoint_id as string,
  customerName: r.customer_name as string,
  eventId: r.event_id as string,
  eventType: r.event_type as WebhookEventType,
  eventAt: r.event_at as number,
  data: JSON.parse(r.data as string) as Record<string, unknown>,
  attempts: r.attempts as number,
  state: r.state as WebhookDelivery['state'],
  nextAttemptAt: r.next_attempt_at as number,
  lastStatus: (r.last_status as number | null) ?? null,
  lastError: (r.last_error as string | null) ?? null,
  lastAttemptAt: (r.last_attempt_at as number | null) ?? null,
  createdAt: r.created_at as number,
  deliveredAt: (r.delivered_at as number | null) ?? null,
});
