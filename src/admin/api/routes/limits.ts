/** Admin API routes: sending limits (customers read their own) and per-domain routes (operators only). */
import * as z from 'zod';
import { route, type AnyRoute } from '../registry.ts';
import { LimitRule_, limitView, Route_, routeView, Limit, Name } from '../schemas.ts';
import { ACTIONS, LEVELS, METRICS, WINDOWS } from '../../../limits/index.ts';

const Where = z.object({
  level: z.enum(LEVELS),
  target: z.string().min(1).max(320).optional().describe('a customer, domain, mailbox or site; omitted or "*": the default of the level'),
});

export const limitRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/limits',
    tag: 'limits',
    access: 'customer',
    summary: 'Limit rules with the usage of the running window (a customer token: its own and the defaults)',
    query: Limit.extend({ level: z.enum(LEVELS).optional(), target: z.string().min(1).max(320).optional() }),
    response: z.object({ limits: z.array(LimitRule_) }),
    handler: async ({ svc, scope, query }) => ({
      limits: (await svc.showLimits(query.level, query.target, scope)).slice(0, query.limit).map(limitView),
    }),
  }),
  route({
    method: 'put',
    path: '/limits',
    tag: 'limits',
    access: 'operator',
    summary: 'Set (add or replace) a limit',
    body: Where.extend({
      window: z.enum(WINDOWS),
      messages: z.number().int().min(0).optional(),
      recipients: z.number().int().min(0).optional(),
      action: z.enum(ACTIONS).optional(),
    }).strict(),
    response: z.object({ limits: z.array(LimitRule_.omit({ usage: true, windowStart: true })) }),
    handler: async ({ svc, body }) => ({ limits: await svc.setLimit(body.level, body.target, body) }),
  }),
  route({
    method: 'delete',
    path: '/limits',
    tag: 'limits',
    access: 'operator',
    summary: 'Clear limits (of one window and/or metric, or all of the target)',
    query: Where.extend({ window: z.enum(WINDOWS).optional(), metric: z.enum(METRICS).optional() }),
    response: z.object({ cleared: z.number().int() }),
    handler: async ({ svc, query }) => ({
      cleared: await svc.clearLimit(query.level, query.target, { window: query.window, metric: query.metric }),
    }),
  }),
];

export const routeRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/routes',
    tag: 'routes',
    access: 'operator',
    summary: 'Per-domain next hops',
    query: Limit,
    response: z.object({ routes: z.array(Route_) }),
    handler: async ({ svc, query }) => ({ routes: (await svc.listRoutes()).slice(0, query.limit).map(routeView) }),
  }),
  route({
    method: 'put',
    path: '/routes/{domain}',
    tag: 'routes',
    access: 'operator',
    summary: 'Set the next hop of a domain',
    params: z.object({ domain: Name }),
    body: z
      .object({
        host: z.string().min(1).max(300).describe('host, host:port, 192.0.2.1:25 or [2001:db8::1]:2525'),
        tls: z.enum(['none', 'opportunistic', 'required']).optional(),
        auth: z
          .object({ user: z.string().min(1).max(320), pass: z.string().min(1).max(1024) })
          .strict()
          .optional()
          .describe('login at the next hop (needs TLS)'),
      })
      .strict(),
    response: Route_,
    handler: async ({ svc, params, body }) => routeView(await svc.setRoute(params.domain, body.host, body.tls, body.auth ?? null)),
  }),
  route({
    method: 'delete',
    path: '/routes/{domain}',
    tag: 'routes',
    access: 'operator',
    summary: 'Remove the route of a domain (its mail goes to its MX again)',
    params: z.object({ domain: Name }),
    response: z.object({ ok: z.literal(true) }),
    handler: async ({ svc, params }) => (await svc.removeRoute(params.domain), { ok: true as const }),
  }),
];
