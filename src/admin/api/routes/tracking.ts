/** Admin API routes: message tracking (what happened to a message), a customer token sees its own messages only. */
import * as z from 'zod';
import { TRACK_STATUSES } from '../../../core/index.ts';
import { MAX_TRACK_LIMIT, publicEvent, publicTracked } from '../../tracking.ts';
import { route, type AnyRoute } from '../registry.ts';
import { Name, Time } from '../schemas.ts';

const Status = z.enum(TRACK_STATUSES as [string, ...string[]]);

export const Tracked = z.object({
  id: z.string().describe('the queue id'),
  status: Status,
  customer: z.string().nullable(),
  authUser: z.string().nullable(),
  site: z.string().nullable(),
  sender: z.string(),
  messageId: z.string().nullable(),
  subject: z.string().nullable(),
  recipients: z.array(z.string()),
  size: z.number().int(),
  clientIp: z.string(),
  listener: z.string(),
  createdAt: Time,
  updatedAt: Time,
  removedTenant: z
    .string()
    .nullable()
    .describe('sent by a tenant removed since (customer:NAME or domain:NAME); kept until the retention time'),
});
export const TrackEvent_ = z.object({
  at: Time,
  type: z.string(),
  recipient: z.string().nullable(),
  remoteHost: z.string().nullable(),
  reply: z.string().nullable(),
  category: z.string().nullable(),
  dsn: z.string().nullable().describe('the queue id of the bounce (DSN) this event sent'),
});

const Search = z.object({
  id: z.string().min(1).max(64).optional().describe('this queue id'),
  messageId: z.string().min(1).max(998).optional().describe('this Message-ID header (angle brackets optional)'),
  sender: z.string().max(320).optional().describe('this envelope sender ("<>" is the null sender)'),
  recipient: z.string().min(1).max(320).optional().describe('one of its recipients'),
  customer: Name.optional().describe("this customer's messages (a customer token: only its own)"),
  since: z.string().max(40).optional().describe('arrived at or after (ISO 8601: 2025-01-31 or 2025-01-31T14:00:00Z)'),
  until: z.string().max(40).optional().describe('arrived before (ISO 8601)'),
  status: Status.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_TRACK_LIMIT).default(50).describe(`at most this many (1-${MAX_TRACK_LIMIT}, default 50)`),
  before: z.string().min(1).max(100).optional().describe('the `next` cursor of the previous page'),
});

export const trackingRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/tracking/messages',
    tag: 'tracking',
    access: 'customer',
    summary: 'Tracked messages, newest first, with the cursor of the next page',
    query: Search,
    response: z.object({
      messages: z.array(Tracked),
      next: z.string().nullable().describe('pass as `before` for the next page; null: the last page'),
    }),
    handler: async ({ svc, scope, query }) => {
      const r = await svc.searchTracking(query, scope);
      return { messages: r.messages.map(publicTracked), next: r.next };
    },
  }),
  route({
    method: 'get',
    path: '/tracking/messages/{queueId}',
    tag: 'tracking',
    access: 'customer',
    summary: 'A tracked message with its events, oldest first',
    params: z.object({ queueId: z.string().min(1).max(64) }),
    response: Tracked.extend({ events: z.array(TrackEvent_) }),
    handler: async ({ svc, scope, params }) => {
      const m = await svc.showTracking(params.queueId, scope);
      return { ...publicTracked(m), events: m.events.map(publicEvent) };
    },
  }),
  route({
    method: 'get',
    path: '/tracking/stats',
    tag: 'tracking',
    access: 'operator',
    summary: 'How much tracking keeps: messages, events, estimated bytes, the oldest',
    response: z.object({ messages: z.number().int(), events: z.number().int(), bytes: z.number().int(), oldest: Time.nullable() }),
    handler: async ({ svc }) => {
      const s = await svc.trackingStats();
      return { ...s, oldest: s.oldest === null ? null : new Date(s.oldest).toISOString() };
    },
  }),
];
