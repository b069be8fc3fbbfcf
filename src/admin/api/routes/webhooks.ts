/**
 * Admin API routes: customers' webhook endpoints and their delivery log. A customer token
 * reaches its own endpoints only (customerWebhooks binds the service to its customer): another
 * customer's endpoint answers 404 exactly like a missing one. Secrets appear only in the
 * answers that made them (creation, rotation).
 */
import * as z from 'zod';
import type { WebhookDelivery, WebhookEventType } from '../../../core/index.ts';
import type { TenantScope } from '../../errors.ts';
import type { AdminService } from '../../service.ts';
import { customerWebhooks, publicDelivery, publicEndpoint } from '../../webhooks.ts';
import { EVENT_TYPES } from '../../../webhooks/index.ts';
import { route, type AnyRoute } from '../registry.ts';
import { Limit, Name, Time } from '../schemas.ts';

const EventType = z.enum(['ping', ...EVENT_TYPES] as [WebhookEventType, ...WebhookEventType[]]);

export const Webhook_ = z.object({
  id: z.string(),
  customer: z.string(),
  url: z.string(),
  events: z.array(EventType),
  enabled: z.boolean(),
  createdAt: Time,
  updatedAt: Time,
});
export const WebhookDelivery_ = z.object({
  id: z.number().int(),
  endpoint: z.string(),
  event: z.string(),
  type: EventType,
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: Time,
  lastAttemptAt: Time.nullable(),
  nextAttemptAt: Time.nullable(),
  deliveredAt: Time.nullable(),
  payload: z
    .object({ id: z.string(), type: EventType, created: Time, customer: z.string(), data: z.record(z.string(), z.unknown()) })
    .describe('the event as it is sent'),
});
/** The log's view (its times are set: publicDelivery types them nullable for every field alike). */
const deliveryView = (d: WebhookDelivery) => publicDelivery(d) as z.input<typeof WebhookDelivery_>;
const WithSecret = z.object({ webhook: Webhook_, secret: z.string().describe('the signing secret, shown once') });
const ById = z.object({ id: z.string().min(1).max(64) });
const Events = z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(40)).max(10)]);

/** The webhook operations of a token: a customer's bound to it; an operator's on every customer. */
function hooksOf(svc: AdminService, scope: TenantScope | undefined) {
  if (scope) return customerWebhooks(svc, scope.customerName);
  return {
    get: (id: string) => svc.getWebhook(id),
    remove: (id: string) => svc.removeWebhook(id),
    rotateSecret: (id: string) => svc.rotateWebhookSecret(id),
    setEnabled: (id: string, on: boolean) => svc.setWebhookEnabled(id, on),
    test: (id: string) => svc.testWebhook(id),
    log: (filter: { endpoint?: string; limit?: number; customer?: string } = {}) => svc.webhookLog(filter),
  };
}

/** The customer a list or creation is for: a customer token's own (naming another: 404 like a missing one). */
async function customerOf(svc: AdminService, scope: TenantScope | undefined, named: string | undefined): Promise<string | undefined> {
  if (named !== undefined) return (await svc.getCustomer(named, scope)).name;
  return scope?.customerName;
}

const onOff = (name: 'enable' | 'disable', on: boolean) =>
  route({
    method: 'post',
    path: `/webhooks/{id}/${name}`,
    tag: 'webhooks',
    access: 'customer',
    summary: on
      ? 'Enable an endpoint: its waiting deliveries are sent again'
      : 'Disable an endpoint: no new events; its pending deliveries wait',
    params: ById,
    response: Webhook_,
    handler: async ({ svc, scope, params }) => publicEndpoint(await hooksOf(svc, scope).setEnabled(params.id, on)),
  });

export const webhookRoutes: AnyRoute[] = [
  route({
    method: 'get',
    path: '/webhooks',
    tag: 'webhooks',
    access: 'customer',
    summary: 'Webhook endpoints (a customer token: its own)',
    query: Limit.extend({ customer: Name.optional() }),
    response: z.object({ webhooks: z.array(Webhook_) }),
    handler: async ({ svc, scope, query }) => ({
      webhooks: (await svc.listWebhooks(await customerOf(svc, scope, query.customer))).slice(0, query.limit).map(publicEndpoint),
    }),
  }),
  route({
    method: 'post',
    path: '/webhooks',
    tag: 'webhooks',
    access: 'customer',
    summary: 'Add an endpoint (https:// only); its signing secret is returned once',
    status: 201,
    body: z
      .object({
        url: z.string().min(1).max(2000),
        customer: Name.optional().describe('required with an operator token; a customer token: its own'),
        events: Events.optional().describe(`what it gets: ${EVENT_TYPES.join(', ')} (a list or comma-separated; default all)`),
      })
      .strict(),
    response: WithSecret,
    handler: async ({ svc, scope, body }) => {
      const customer = await customerOf(svc, scope, body.customer);
      const r = scope
        ? await customerWebhooks(svc, customer!).add(body.url, body.events)
        : await svc.addWebhook({ customer: customer ?? '', url: body.url, events: body.events });
      return { webhook: publicEndpoint(r.endpoint), secret: r.secret };
    },
  }),
  route({
    method: 'get',
    path: '/webhooks/deliveries',
    tag: 'webhooks',
    access: 'customer',
    summary: 'The delivery log of every endpoint of the caller (or of a customer), newest first',
    query: Limit.extend({ customer: Name.optional() }),
    response: z.object({ deliveries: z.array(WebhookDelivery_) }),
    handler: async ({ svc, scope, query }) => ({
      deliveries: (await svc.webhookLog({ customer: await customerOf(svc, scope, query.customer), limit: query.limit })).map(deliveryView),
    }),
  }),
  route({
    method: 'get',
    path: '/webhooks/{id}',
    tag: 'webhooks',
    access: 'customer',
    summary: 'A webhook endpoint',
    params: ById,
    response: Webhook_,
    handler: async ({ svc, scope, params }) => publicEndpoint(await hooksOf(svc, scope).get(params.id)),
  }),
  route({
    method: 'delete',
    path: '/webhooks/{id}',
    tag: 'webhooks',
    access: 'customer',
    summary: 'Remove an endpoint with its delivery log (pending deliveries are dropped)',
    params: ById,
    response: z.object({ ok: z.literal(true) }),
    handler: async ({ svc, scope, params }) => (await hooksOf(svc, scope).remove(params.id), { ok: true as const }),
  }),
  route({
    method: 'post',
    path: '/webhooks/{id}/rotate-secret',
    tag: 'webhooks',
    access: 'customer',
    summary: 'A new signing secret (returned once), used from the next attempt on',
    params: ById,
    response: WithSecret,
    handler: async ({ svc, scope, params }) => {
      const r = await hooksOf(svc, scope).rotateSecret(params.id);
      return { webhook: publicEndpoint(r.endpoint), secret: r.secret };
    },
  }),
  onOff('enable', true),
  onOff('disable', false),
  route({
    method: 'post',
    path: '/webhooks/{id}/test',
    tag: 'webhooks',
    access: 'customer',
    summary: 'Queue a ping event for an endpoint (the server sends it; see its deliveries)',
    params: ById,
    response: z.object({ webhook: Webhook_, eventId: z.string() }),
    handler: async ({ svc, scope, params }) => {
      const r = await hooksOf(svc, scope).test(params.id);
      return { webhook: publicEndpoint(r.endpoint), eventId: r.eventId };
    },
  }),
  route({
    method: 'get',
    path: '/webhooks/{id}/deliveries',
    tag: 'webhooks',
    access: 'customer',
    summary: 'The delivery log of an endpoint, newest first',
    params: ById,
    query: Limit,
    response: z.object({ deliveries: z.array(WebhookDelivery_) }),
    handler: async ({ svc, scope, params, query }) => ({
      deliveries: (await hooksOf(svc, scope).log({ endpoint: params.id, limit: query.limit })).map(deliveryView),
    }),
  }),
];
