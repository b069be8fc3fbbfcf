/**
 * Message tracking for the admin service: search and one message's timeline, with the input
 * validated as typed (CLI flags, API query strings). With a customer scope (a customer's own
 * view, e.g. the HTTP API with a customer's key) only that customer's messages are ever seen:
 * another customer's message is "not found", a filter on another customer is refused. A
 * per-call TenantScope (the HTTP API's customer token) answers another customer exactly like a
 * missing one (404).
 */
import type { Store, TrackFilter } from '../store/index.ts';
import { TRACK_STATUSES, type TrackEvent, type TrackStatus, type TrackedMessage, type TrackingSummary } from '../core/index.ts';
import { AdminError, missing, type TenantScope } from './errors.ts';
import { read, type Declarations } from './audit.ts';

/** What `track search` accepts (strings as typed; validated here). */
export interface TrackSearchInput {
  id?: string;
  messageId?: string;
  sender?: string; // '<>' or '' is the null sender
  recipient?: string;
  customer?: string;
  since?: string; // ISO 8601
  until?: string;
  status?: string;
  limit?: number;
  /** The `next` cursor of the previous page. */
  before?: string;
  /** Only what this mailbox login sent (a mailbox user's own log in the console). */
  authUser?: string;
}

export const MAX_TRACK_LIMIT = 1000;

const iso = (ms: number) => new Date(ms).toISOString();

export const publicTracked = (m: TrackedMessage) => ({
  id: m.queueId,
  status: m.status,
  customer: m.customerName,
  authUser: m.authUser,
  site: m.siteName,
  sender: m.sender,
  messageId: m.messageId,
  subject: m.subject,
  recipients: m.recipients,
  size: m.size,
  clientIp: m.clientIp,
  listener: m.listener,
  createdAt: iso(m.createdAt),
  updatedAt: iso(m.updatedAt),
  removedTenant: m.removedTenant,
});

export const publicEvent = (e: TrackEvent) => ({
  at: iso(e.at),
  type: e.type,
  recipient: e.recipient,
  remoteHost: e.remoteHost,
  reply: e.reply,
  category: e.category,
  dsn: e.ref,
});

function timeOf(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v.trim()) ? Date.parse(v.trim()) : NaN;
  if (Number.isNaN(t)) throw new AdminError(`${flag} must be an ISO 8601 date or time (2025-01-31, 2025-01-31T14:00:00Z): ${v}`);
  return t;
}

/** "<id@host>" whether typed with its angle brackets or without. */
function messageIdOf(v: string): string {
  const t = v.trim();
  if (!t || /\s/.test(t)) throw new AdminError(`not a Message-ID: ${v}`);
  return t.startsWith('<') ? t : `<${t}>`;
}

function cursorOf(v: string): TrackFilter['before'] {
  const m = /^(\d{1,15})\.([0-9A-Za-z]{1,64})$/.exec(v);
  if (!m) throw new AdminError(`not a cursor of a previous page: ${v}`);
  return { createdAt: Number(m[1]), queueId: m[2]! };
}

/** The tracking operations; with `scope`, those of one customer only. */
export function createTrackingService(store: Store, scope?: { customer: string }) {
  let scoped: Promise<number> | null = null;
  const scopeId = (): Promise<number | undefined> => {
    if (!scope) return Promise.resolve(undefined);
    scoped ??= store.customers.get(scope.customer).then((c) => {
      if (!c) throw missing(`no customer named ${scope.customer}`);
      return c.id;
    });
    return scoped;
  };
  async function customerIdOf(name: string | undefined, tenant?: TenantScope): Promise<number | undefined> {
    const own = tenant?.customerId ?? (await scopeId());
    if (name === undefined) return own;
    if (scope && name !== scope.customer) throw new AdminError('only the messages of your own customer account can be searched');
    const c = await store.customers.get(name);
    if (!c || (tenant && c.id !== tenant.customerId)) throw missing(`no customer named ${name}`);
    return c.id;
  }

  async function filterOf(input: TrackSearchInput, tenant?: TenantScope): Promise<TrackFilter> {
    const limit = input.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TRACK_LIMIT)
      throw new AdminError(`--limit must be a whole number from 1 to ${MAX_TRACK_LIMIT}`);
    if (input.status !== undefined && !(TRACK_STATUSES as string[]).includes(input.status)) {
      throw new AdminError(`--status must be one of ${TRACK_STATUSES.join(', ')}: ${input.status}`);
    }
    const from = timeOf('--since', input.since);
    const to = timeOf('--until', input.until);
    if (from !== undefined && to !== undefined && from >= to) throw new AdminError('--since must be before --until');
    const sender = input.sender === undefined ? undefined : input.sender.trim().replace(/^<(.*)>$/, '$1');
    const recipient = input.recipient === undefined ? undefined : input.recipient.trim().replace(/^<(.*)>$/, '$1');
    if (recipient === '') throw new AdminError('--recipient must be an address');
    return {
      customerId: await customerIdOf(input.customer, tenant),
      queueId: input.id?.trim(),
      authUser: input.authUser,
      messageId: input.messageId === undefined ? undefined : messageIdOf(input.messageId),
      sender,
      recipient,
      from,
      to,
      status: input.status as TrackStatus | undefined,
      limit,
      before: input.before === undefined ? undefined : cursorOf(input.before),
    };
  }

  return {
    /** Newest first (with `tenant`: that customer's only); `next` is the cursor of the following page (null: this is the last). */
    async searchTracking(input: TrackSearchInput = {}, tenant?: TenantScope): Promise<{ messages: TrackedMessage[]; next: string | null }> {
      const filter = await filterOf(input, tenant);
      const messages = await store.tracking.search(filter);
      const last = messages.at(-1);
      return { messages, next: last && messages.length === filter.limit ? `${last.createdAt}.${last.queueId}` : null };
    },
    /** One message with its events, oldest first; with `tenant`, another customer's is missing. */
    async showTracking(id: string, tenant?: TenantScope): Promise<TrackedMessage & { events: TrackEvent[] }> {
      const m = await store.tracking.get(id.trim(), tenant?.customerId ?? (await scopeId()));
      if (!m) throw missing(`no tracked message ${id} (never accepted here, pruned, or tracking was off)`);
      return m;
    },
    trackingStats: () => store.tracking.stats(),
    /** What happened since `sinceMs`: events by type and the `top` senders (with `tenant`: that customer's only). */
    async trackingSummary(sinceMs: number, top = 10, tenant?: TenantScope): Promise<TrackingSummary> {
      if (!Number.isFinite(sinceMs)) throw new AdminError('the start of a summary must be a time');
      if (!Number.isInteger(top) || top < 0 || top > MAX_TRACK_LIMIT)
        throw new AdminError(`the number of top senders must be a whole number from 0 to ${MAX_TRACK_LIMIT}`);
      return store.tracking.summary(sinceMs, top, tenant?.customerId ?? (await scopeId()));
    },
  };
}

/** Message tracking only reads. */
export const trackingOperations = {
  searchTracking: read,
  showTracking: read,
  trackingStats: read,
  trackingSummary: read,
} satisfies Declarations<ReturnType<typeof createTrackingService>>;
