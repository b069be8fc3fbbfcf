/**
 * Webhook endpoints, for the admin service: an endpoint belongs to one customer and gets the
 * events it subscribed to, signed with its own secret (returned once at creation and rotation,
 * stored sealed). Every method takes an optional customer scope; customerWebhooks() binds it
 * for customer-facing callers (the HTTP API), so a customer reaches only its own endpoints.
 */
import type { SecretBox } from '../credentials/index.ts';
import type { Store } from '../store/index.ts';
import type { Customer, WebhookDelivery, WebhookEndpoint, WebhookEventType } from '../core/index.ts';
import {
  EVENT_TYPES,
  NOT_PUBLIC,
  createEndpointGuard,
  newWebhookSecret,
  randomEventId,
  urlProblem,
  type EndpointGuard,
} from '../webhooks/index.ts';
import { randomBytes } from 'node:crypto';
import { AdminError, missing } from './errors.ts';
import { audit, read, WEBHOOK, WEBHOOKS_OF, type Declarations } from './audit.ts';

export interface WebhookAdminOptions {
  allowInsecure: boolean;
  /** Checks an endpoint's host at add (webhooks.allowNetworks, dns.*); default: no allowed network, the system resolver. */
  guard?: EndpointGuard;
}

export interface WebhookAddInput {
  customer: string;
  url: string;
  events?: string | string[];
}

/** An endpoint as shown to operators and customers: never its secret. */
export const publicEndpoint = (e: WebhookEndpoint) => ({
  id: e.id,
  customer: e.customerName,
  url: e.url,
  events: e.events,
  enabled: e.enabled,
  createdAt: new Date(e.createdAt).toISOString(),
  updatedAt: new Date(e.updatedAt).toISOString(),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A delivery of the log: its event (the payload as sent) and the outcome of its attempts. */
export const publicDelivery = (d: WebhookDelivery) => ({
  id: d.id,
  endpoint: d.endpointId,
  event: d.eventId,
  type: d.eventType,
  state: d.state,
  attempts: d.attempts,
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  createdAt: iso(d.createdAt),
  lastAttemptAt: iso(d.lastAttemptAt),
  nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
  deliveredAt: iso(d.deliveredAt),
  payload: { id: d.eventId, type: d.eventType, created: iso(d.eventAt), customer: d.customerName, data: d.data },
});

function eventsOf(input: string | string[] | undefined): WebhookEventType[] {
  const raw = (Array.isArray(input) ? input : input === undefined ? [] : [input])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (!raw.length) return [...EVENT_TYPES];
  const unknown = raw.filter((e) => !EVENT_TYPES.includes(e as WebhookEventType));
  if (unknown.length) throw new AdminError(`unknown event type ${unknown.join(', ')}: use ${EVENT_TYPES.join(', ')}`);
  return EVENT_TYPES.filter((e) => raw.includes(e));
}

export function createWebhookService(
  store: Store,
  now: () => number,
  secrets: (() => SecretBox) | undefined,
  opts: WebhookAdminOptions,
  customerOrFail: (name: string) => Promise<Customer>,
) {
  const scopeOf = async (customer?: string) => (customer === undefined ? {} : { customerId: (await customerOrFail(customer)).id });
  async function endpointOrFail(id: string, customer?: string): Promise<WebhookEndpoint> {
    const e = await store.webhooks.endpoint(id, await scopeOf(customer));
    if (!e) throw missing(`no webhook endpoint ${id}${customer === undefined ? '' : ` of customer ${customer}`}`);
    return e;
  }
  let made: EndpointGuard | null = null;
  const guard = () => opts.guard ?? (made ??= createEndpointGuard({ allowNetworks: [], dns: { servers: [], timeoutMs: 5000, tries: 2 } }));
  function box(): SecretBox {
    if (!secrets) throw new AdminError('no secrets key is configured for webhook secrets');
    return secrets();
  }

  return {
    /** Adds an endpoint; returns its secret (shown once). */
    async addWebhook(input: WebhookAddInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
      const c = await customerOrFail(input.customer);
      const url = input.url.trim();
      const problem = urlProblem(url, opts.allowInsecure);
      if (problem) throw new AdminError(problem);
      // a host that does not resolve yet is taken (every send checks again); one that is or
      // resolves to an inside address is not
      const checked = await guard().check(url);
      if (!checked.ok && checked.reason === NOT_PUBLIC) throw new AdminError(`${url}: ${NOT_PUBLIC}`);
      const events = eventsOf(input.events);
      const secret = newWebhookSecret();
      const id = `wh_${randomBytes(9).toString('base64url')}`;
      const endpoint = await store.webhooks.addEndpoint({ id, customerId: c.id, url, secret: box().seal(secret), events });
      return { endpoint, secret };
    },
    /** One endpoint (of `customer` only, when given: another customer's is missing). */
    getWebhook: (id: string, customer?: string): Promise<WebhookEndpoint> => endpointOrFail(id, customer),
    async listWebhooks(customer?: string): Promise<WebhookEndpoint[]> {
      return store.webhooks.endpoints(await scopeOf(customer));
    },
    /** Removes an endpoint with its delivery log (pending deliveries are dropped). */
    async removeWebhook(id: string, customer?: string): Promise<WebhookEndpoint> {
      const e = await endpointOrFail(id, customer);
      if (!(await store.webhooks.removeEndpoint(e.id, await scopeOf(customer)))) throw missing(`no webhook endpoint ${id}`);
      return e;
    },
    /** A new secret; requests are signed with it from the next attempt on. */
    async rotateWebhookSecret(id: string, customer?: string): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
      const e = await endpointOrFail(id, customer);
      const secret = newWebhookSecret();
      const endpoint = await store.webhooks.updateEndpoint(e.id, { secret: box().seal(secret) }, await scopeOf(customer));
      if (!endpoint) throw missing(`no webhook endpoint ${id}`);
      return { endpoint, secret };
    },
    /** Disabled: no new events, and its pending deliveries wait until it is enabled again. */
    async setWebhookEnabled(id: string, enabled: boolean, customer?: string): Promise<WebhookEndpoint> {
      const e = await endpointOrFail(id, customer);
      return (await store.webhooks.updateEndpoint(e.id, { enabled }, await scopeOf(customer)))!;
    },
    async webhookLog(filter: { customer?: string; endpoint?: string; limit?: number } = {}): Promise<WebhookDelivery[]> {
      if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > 10_000)) {
        throw new AdminError('--limit must be a whole number from 1 to 10000');
      }
      if (filter.endpoint !== undefined) await endpointOrFail(filter.endpoint, filter.customer);
      return store.webhooks.log({ ...(await scopeOf(filter.customer)), endpointId: filter.endpoint, limit: filter.limit ?? 50 });
    },
    /** Queues a `ping` event for the endpoint (the running server sends it). */
    async testWebhook(id: string, customer?: string): Promise<{ endpoint: WebhookEndpoint; eventId: string }> {
      const e = await endpointOrFail(id, customer);
      if (!e.enabled) throw new AdminError(`webhook endpoint ${id} is disabled; enable it first: postern webhook enable ${id}`);
      const eventId = randomEventId();
      const t = now();
      await store.webhooks.enqueue(
        [{ id: eventId, type: 'ping', customerId: e.customerId, at: t, endpointId: e.id, data: { message: 'ping from Postern' } }],
        t,
      );
      return { endpoint: e, eventId };
    },
  };
}

/** What the audit trail records of each webhook operation (never a secret). */
export const webhookOperations = {
  addWebhook: audit('addWebhook', WEBHOOKS_OF),
  getWebhook: read,
  listWebhooks: read,
  removeWebhook: audit('removeWebhook', WEBHOOK),
  rotateWebhookSecret: audit('rotateWebhookSecret', WEBHOOK),
  setWebhookEnabled: audit('setWebhookEnabled', WEBHOOK),
  webhookLog: read,
  testWebhook: audit('testWebhook', WEBHOOK),
} satisfies Declarations<ReturnType<typeof createWebhookService>>;

type WebhookService = ReturnType<typeof createWebhookService>;

/** The webhook operations bound to one customer (customer-facing callers); pass the audited service. */
export function customerWebhooks(svc: WebhookService, customer: string) {
  return {
    add: (url: string, events?: string | string[]) => svc.addWebhook({ customer, url, events }),
    get: (id: string) => svc.getWebhook(id, customer),
    list: () => svc.listWebhooks(customer),
    remove: (id: string) => svc.removeWebhook(id, customer),
    rotateSecret: (id: string) => svc.rotateWebhookSecret(id, customer),
    setEnabled: (id: string, enabled: boolean) => svc.setWebhookEnabled(id, enabled, customer),
    log: (filter: { endpoint?: string; limit?: number } = {}) => svc.webhookLog({ ...filter, customer }),
    test: (id: string) => svc.testWebhook(id, customer),
  };
}
