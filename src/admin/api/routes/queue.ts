/** Admin API routes: the queue (customers read their own messages), holds, bans, the audit trail, and the caller's token. */
import * as z from 'zod';
import { route, type AnyRoute } from '../registry.ts';
import {
  Attempt,
  attemptView,
  AuditEntry,
  auditView,
  Ban,
  banView,
  Limit,
  Mailbox_,
  mailboxView,
  Message,
  messageView,
  Site_,
  siteView,
  Token_,
  tokenView,
} from '../schemas.ts';

const ById = z.object({ id: z.string().min(1).max(64) });
const Target = z.object({ target: z.string().min(1).max(320).describe('a mailbox address, site:NAME, or a held message id') });

export const queueRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/queue',
    tag: 'queue',
    access: 'customer',
    summary: 'Messages in the queue (a customer token: its own)',
    query: Limit.extend({
      state: z.enum(['queued', 'deferred', 'delivered', 'failed', 'held']).optional(),
      domain: z.string().min(1).max(253).optional().describe('a recipient domain'),
      sender: z.string().max(320).optional().describe('"<>" is the null sender'),
      customer: z.string().min(1).max(255).optional(),
      site: z.string().min(1).max(255).optional(),
    }),
    response: z.object({ messages: z.array(Message) }),
    handler: async ({ svc, scope, query }) => ({ messages: (await svc.listQueue(query, scope)).map(messageView) }),
  }),
  route({
    method: 'get',
    path: '/queue/{id}',
    tag: 'queue',
    access: 'customer',
    summary: 'A message with every delivery attempt',
    params: ById,
    response: z.object({ message: Message, attempts: z.array(Attempt) }),
    handler: async ({ svc, scope, params }) => {
      const r = await svc.showMessage(params.id, scope);
      return { message: messageView(r.message), attempts: r.attempts.map(attemptView) };
    },
  }),
  route({
    method: 'post',
    path: '/queue/{id}/hold',
    tag: 'queue',
    access: 'operator',
    summary: 'Hold a message',
    params: ById,
    response: z.object({ id: z.string(), state: z.literal('held') }),
    handler: async ({ svc, params }) => ({ id: (await svc.holdMessage(params.id)).id, state: 'held' as const }),
  }),
  route({
    method: 'post',
    path: '/queue/{id}/release',
    tag: 'queue',
    access: 'operator',
    summary: 'Release a held message',
    params: ById,
    response: z.object({ id: z.string(), state: z.literal('queued') }),
    handler: async ({ svc, params }) => ({ id: (await svc.releaseMessage(params.id)).id, state: 'queued' as const }),
  }),
  route({
    method: 'post',
    path: '/queue/{id}/retry',
    tag: 'queue',
    access: 'operator',
    summary: 'Make the pending recipients of a message due now',
    params: ById,
    response: z.object({ due: z.number().int() }),
    handler: async ({ svc, params }) => ({ due: await svc.retryQueue(params.id) }),
  }),
  route({
    method: 'post',
    path: '/queue/retry',
    tag: 'queue',
    access: 'operator',
    summary: 'Make every pending recipient (of messages not held) due now',
    response: z.object({ due: z.number().int() }),
    handler: async ({ svc }) => ({ due: await svc.retryQueue(null) }),
  }),
  route({
    method: 'delete',
    path: '/queue/{id}',
    tag: 'queue',
    access: 'operator',
    summary: 'Delete a message; with bounce=true its pending recipients are bounced to the sender',
    params: ById,
    query: z.object({ bounce: z.stringbool().optional() }),
    response: z.object({
      id: z.string(),
      outcome: z.enum(['deleted', 'cancelled']),
      nullSender: z.boolean(),
      bounced: z.number().int(),
      inFlight: z.array(z.string()).describe('recipients whose running attempt decides them'),
    }),
    handler: async ({ svc, params, query, removeBody }) => {
      const r = await svc.deleteMessage(params.id, { bounce: query.bounce, removeBody });
      return {
        id: r.message.id,
        outcome: r.outcome,
        nullSender: r.nullSender,
        bounced: r.bounced,
        inFlight: r.inFlight.map((x) => x.address),
      };
    },
  }),
];

const HeldCount = { heldMessages: z.number().int(), heldSpam: z.number().int().describe('of them, held by the content scanner') };

export const holdRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/holds',
    tag: 'holds',
    access: 'operator',
    summary: 'Mailboxes and sites on hold, and other held messages',
    response: z.object({
      mailboxes: z.array(z.object({ mailbox: Mailbox_, ...HeldCount })),
      sites: z.array(z.object({ site: Site_, ...HeldCount })),
      messages: z.array(Message),
    }),
    handler: async ({ svc }) => {
      const r = await svc.listHolds();
      return {
        mailboxes: r.mailboxes.map((m) => ({ mailbox: mailboxView(m.mailbox), heldMessages: m.heldMessages, heldSpam: m.heldSpam })),
        sites: r.sites.map((s) => ({ site: siteView(s.site, []), heldMessages: s.heldMessages, heldSpam: s.heldSpam })),
        messages: r.messages.map(messageView),
      };
    },
  }),
  route({
    method: 'post',
    path: '/holds/{target}/release',
    tag: 'holds',
    access: 'operator',
    summary: 'Release a mailbox or site (with its held mail) or one held message',
    params: Target,
    body: z.object({ includeSpam: z.boolean().optional().describe('also release what the content scanner held') }).strict(),
    response: z.object({ released: z.number().int(), keptSpam: z.number().int() }),
    handler: async ({ svc, params, body }) => {
      const r = await svc.releaseHold(params.target, { includeSpam: body.includeSpam });
      return { released: r.released, keptSpam: r.keptSpam };
    },
  }),
  route({
    method: 'post',
    path: '/holds/{target}/purge',
    tag: 'holds',
    access: 'operator',
    summary: 'Delete the held mail of a mailbox or site (it stays on hold)',
    params: Target,
    response: z.object({ purged: z.number().int() }),
    handler: async ({ svc, params, removeBody }) => ({ purged: await svc.purgeHold(params.target, removeBody) }),
  }),
];

export const opsRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/bans',
    tag: 'bans',
    access: 'operator',
    summary: 'Client addresses banned after failed logins',
    query: Limit,
    response: z.object({ bans: z.array(Ban) }),
    handler: async ({ svc, query }) => ({ bans: (await svc.listBans()).slice(0, query.limit).map(banView) }),
  }),
  route({
    method: 'delete',
    path: '/bans/{ip}',
    tag: 'bans',
    access: 'operator',
    summary: 'Lift a ban (an IPv6 /64 as the list shows it, URL-encoded)',
    params: z.object({ ip: z.string().min(2).max(64) }),
    response: z.object({ ok: z.literal(true) }),
    handler: async ({ svc, params }) => (await svc.removeBan(params.ip), { ok: true as const }),
  }),
  route({
    method: 'get',
    path: '/audit',
    tag: 'audit',
    access: 'operator',
    summary: 'The audit trail, newest first',
    query: Limit.extend({
      target: z.string().min(1).max(400).optional().describe('only this target, e.g. customer:acme, alice@example.com, site:shop'),
    }),
    response: z.object({ entries: z.array(AuditEntry) }),
    handler: async ({ svc, query }) => ({ entries: (await svc.listAudit({ target: query.target, limit: query.limit })).map(auditView) }),
  }),
  route({
    method: 'get',
    path: '/token',
    tag: 'tokens',
    access: 'customer',
    summary: 'The token of this request: its name and scope',
    response: Token_,
    handler: async ({ token }) => tokenView(token),
  }),
];
