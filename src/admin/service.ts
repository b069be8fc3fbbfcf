/**
 * The administrative operations on customers, domains, mailboxes, routes and the queue, with
 * their validation. The CLI (and later the HTTP API) call these; they never print. Each
 * operation declares what the audit trail records of it (its file's `...Operations` table,
 * gathered in adminOperations); a service made with an actor records every audited change.
 */
import {
  addressKey,
  normalizeDomain,
  parseAddress,
  parseHostPort as parseHostPortCore,
  NEVER,
  type Customer,
  type Domain,
  type Mailbox,
  type Route,
  type RouteTls,
  type AttemptRecord,
  type QueuedMessage,
  type QueuedRecipient,
} from '../core/index.ts';
import { StoreError, type Store, type QueueFilter } from '../store/index.ts';
import { hashPassword, generatePassword, type SecretBox } from '../credentials/index.ts';

import { AdminError, missing, sees, type TenantScope } from './errors.ts';
import { createGrantService, grantOperations } from './grants.ts';
import { createBanService, banOperations } from './bans.ts';
import { createLimitService, limitOperations } from './limits.ts';
import { audit, domainKey, message as messageView, read, str, withAudit, MAILBOX, MESSAGE, ROUTE, type Declarations } from './audit.ts';
import { createHoldService, holdOperations } from './holds.ts';
import { createSiteService, siteOperations } from './sites.ts';
import { createDkimAdmin, type DkimAdminOptions, dkimOperations } from './dkim.ts';
import { createTrackingService, trackingOperations } from './tracking.ts';
import { createWebhookService, type WebhookAdminOptions, webhookOperations } from './webhooks.ts';
import { createTokenService, tokenOperations } from './tokens.ts';
import { createSuppressionService, suppressionOperations } from './suppression.ts';
import { createFigureService, figureOperations } from './figures.ts';
import { createLifecycleService, lifecycleOperations } from './lifecycle.ts';
import { createRemovalService, removalOperations } from './removal.ts';
import { createImportService, importOperations } from './import.ts';
import { createAppPasswordService, appPasswordOperations } from './app-passwords.ts';
import { createPoolService, type PoolSettings, poolOperations } from './pools.ts';

export { AdminError, type TenantScope };

const CUSTOMER_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const MIN_PASSWORD = 8;

export interface PublicMailbox {
  address: string;
  customer: string;
  status: Mailbox['status'];
  /** postern, import or dovecot (made at its first login through Dovecot). */
  source: Mailbox['source'];
  appPasswordsOnly: boolean;
  createdAt: string;
  updatedAt: string;
}

export const publicMailbox = (m: Mailbox): PublicMailbox => ({
  address: m.address,
  customer: m.customerName,
  status: m.status,
  source: m.source,
  appPasswordsOnly: m.appPasswordsOnly,
  createdAt: new Date(m.createdAt).toISOString(),
  updatedAt: new Date(m.updatedAt).toISOString(),
});

/** A queued message for JSON output; nextAttemptAt is null for final recipients and held messages. */
export const publicMessage = (m: QueuedMessage) => ({
  id: m.id,
  state: m.state,
  holdReason: m.holdReason,
  sender: m.sender,
  size: m.size,
  customer: m.customerName,
  authUser: m.authUser,
  site: m.siteName,
  clientIp: m.clientIp,
  listener: m.listener,
  messageId: m.messageIdHeader,
  createdAt: new Date(m.createdAt).toISOString(),
  recipients: m.recipients.map((r) => ({
    address: r.address,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt:
      r.state === 'delivered' || r.state === 'failed' || m.state === 'held' || r.nextAttemptAt >= NEVER
        ? null
        : new Date(r.nextAttemptAt).toISOString(),
    lastAttemptAt: r.lastAttemptAt === null ? null : new Date(r.lastAttemptAt).toISOString(),
    lastReply: r.lastReply,
    remoteHost: r.remoteHost,
    leaseOwner: r.leaseOwner,
  })),
});

const ROUTE_TLS: RouteTls[] = ['none', 'opportunistic', 'required'];

/** "host", "host:port", "1.2.3.4:25", "[2001:db8::1]:2525" -> host and port (25 by default). */
export function parseHostPort(input: string): { host: string; port: number } {
  const r = parseHostPortCore(input, 25);
  if ('error' in r) throw new AdminError(r.error);
  return r;
}

const QUEUE_STATES: NonNullable<QueueFilter['state']>[] = ['queued', 'deferred', 'delivered', 'failed', 'held'];

/** What `queue list` accepts (strings as typed; validated here). */
export interface QueueListInput {
  state?: string;
  domain?: string;
  sender?: string; // '<>' or '' is the null sender
  customer?: string;
  site?: string;
  limit?: number;
}

/** Pending recipients of a message: waiting for their next attempt, or in an attempt right now. */
export function pendingOf(m: QueuedMessage, now: number): { waiting: QueuedRecipient[]; inFlight: QueuedRecipient[] } {
  const pending = m.recipients.filter((r) => r.state === 'queued' || r.state === 'deferred');
  const flying = (r: QueuedRecipient) => r.leaseOwner !== null && r.nextAttemptAt > now;
  return { waiting: pending.filter((r) => !flying(r)), inFlight: pending.filter(flying) };
}

export interface DeleteResult {
  message: QueuedMessage;
  /** deleted: gone now; cancelled: the running server fails the pending recipients and bounces them. */
  outcome: 'deleted' | 'cancelled';
  /** --bounce was asked for a message with the null sender (deleted instead: nobody to bounce to). */
  nullSender: boolean;
  /** Recipients whose attempt is running: that attempt decides them (it may still deliver). */
  inFlight: QueuedRecipient[];
  /** Recipients the bounce covers (cancelled only). */
  bounced: number;
  /** Why the spool file could not be removed (start-up sweeps it), or null. */
  bodyError: string | null;
}

function contactOf(input: string): string {
  const key = addressKey(input.trim());
  if (!key) throw new AdminError(`not a valid contact address: ${input}`);
  return key;
}

function rethrow(err: unknown): never {
  if (err instanceof StoreError)
    throw new AdminError(err.message, err.kind === 'conflict' ? 'conflict' : err.kind === 'not-found' ? 'not-found' : 'invalid');
  throw err;
}

/** The admin service; with `actor`, every change it makes is recorded in the audit trail. */
export function createAdminService(
  store: Store,
  opts: {
    now?: () => number;
    secrets?: () => SecretBox;
    actor?: string;
    dkim?: DkimAdminOptions;
    webhooks?: WebhookAdminOptions;
    suppressionDays?: number;
    /** delivery.pools and delivery.defaultPool (none configured when absent). */
    pools?: PoolSettings;
  } = {},
) {
  const now = opts.now ?? Date.now;
  const service = {
    ...createService(store, now, opts.secrets, opts.dkim, opts.webhooks ?? { allowInsecure: false }, opts.suppressionDays ?? 30),
    ...createPoolService(store, opts.pools ?? { pools: {}, defaultPool: null }),
  };
  return opts.actor ? withAudit(service, adminOperations, store, opts.actor, now) : service;
}

function createService(
  store: Store,
  now: () => number,
  secrets: (() => SecretBox) | undefined,
  dkimOptions: DkimAdminOptions | undefined,
  webhookOptions: WebhookAdminOptions,
  suppressionDays: number,
) {
  const dkim = createDkimAdmin(store, dkimOptions);
  async function customerOrFail(name: string, scope?: TenantScope): Promise<Customer> {
    const c = await store.customers.get(name);
    if (!c || !sees(scope, c.id)) throw missing(`no customer named ${name}; add it with: postern customer add ${name}`);
    return c;
  }
  async function mailboxOrFail(address: string, scope?: TenantScope): Promise<Mailbox> {
    const key = addressKey(address);
    if (!key) throw new AdminError(`not a valid address: ${address}`);
    const m = await store.mailboxes.get(key);
    if (!m || !sees(scope, m.customerId)) throw missing(`no mailbox ${key}`);
    return m;
  }
  async function domainOrFail(input: string, scope?: TenantScope): Promise<Domain> {
    const name = normalizeDomain(input);
    if (!name) throw new AdminError(`not a valid domain name: ${input}`);
    const d = await store.domains.get(name);
    if (!d || !sees(scope, d.customerId)) throw missing(`no hosted domain ${name}`);
    return d;
  }
  /** The customer a listing is for: the scope's own (naming another is answered as missing). */
  async function listedCustomer(name: string | undefined, scope: TenantScope | undefined): Promise<string | undefined> {
    if (name) return (await customerOrFail(name, scope)).name;
    return scope?.customerName;
  }
  function checkPassword(pw: string): void {
    if (pw.length < MIN_PASSWORD) throw new AdminError(`the password must have at least ${MIN_PASSWORD} characters`);
    if (/[\x00-\x1f\x7f]/.test(pw)) throw new AdminError('the password must not contain control characters');
  }

  return {
    ...createGrantService(store, mailboxOrFail),
    ...createBanService(store, mailboxOrFail, now),
    ...createLimitService(store, now),
    ...createHoldService(store, mailboxOrFail, now),
    ...createSiteService(store, customerOrFail),
    ...createTrackingService(store),
    ...createWebhookService(store, now, secrets, webhookOptions, customerOrFail),
    ...createSuppressionService(store, customerOrFail, now, suppressionDays),
    ...dkim,
    ...createTokenService(store, customerOrFail, now),
    ...createFigureService(store, now),
    ...createLifecycleService(store, (name) => customerOrFail(name), now),
    ...createRemovalService(
      store,
      now,
      (name) => customerOrFail(name),
      (name) => domainOrFail(name),
    ),
    ...createImportService(store),
    ...createAppPasswordService(store, mailboxOrFail),
    async addCustomer(name: string, contact?: string): Promise<Customer> {
      if (!CUSTOMER_NAME.test(name)) {
        throw new AdminError(`invalid customer name "${name}": use letters, digits, dot, dash and underscore (at most 63)`);
      }
      return store.customers.add(name, contact === undefined ? null : contactOf(contact)).catch(rethrow);
    },
    /** Where notices about the customer's account go (a mailbox put on hold); '' removes it. */
    async setContact(name: string, contact: string, scope?: TenantScope): Promise<Customer> {
      await customerOrFail(name, scope);
      return (await store.customers.setContact(name, contact === '' ? null : contactOf(contact)))!;
    },
    listCustomers: async (scope?: TenantScope) => (await store.customers.list()).filter((c) => sees(scope, c.id)),
    getCustomer: (name: string, scope?: TenantScope) => customerOrFail(name, scope),

    async addDomain(input: string, customerName: string): Promise<Domain> {
      const name = normalizeDomain(input);
      if (!name) throw new AdminError(`not a valid domain name: ${input}`);
      const c = await customerOrFail(customerName);
      const existing = await store.domains.get(name);
      if (existing) throw new AdminError(`domain ${name} already exists (customer ${existing.customerName})`, 'conflict');
      const d = await store.domains.add(name, c.id).catch(rethrow);
      await dkim.createDomainKeys(d.name);
      return d;
    },
    listDomains: async (customerName?: string, scope?: TenantScope) => store.domains.list(await listedCustomer(customerName, scope)),
    getDomain: (name: string, scope?: TenantScope) => domainOrFail(name, scope),

    /** Adds a mailbox; returns the generated password when none was given. */
    async addMailbox(address: string, password?: string, scope?: TenantScope): Promise<{ mailbox: Mailbox; generated: string | null }> {
      const parsed = parseAddress(address);
      if (!parsed) throw new AdminError(`not a valid address: ${address}`);
      const domain = await store.domains.get(parsed.domain);
      if (!domain || !sees(scope, domain.customerId))
        throw missing(`domain ${parsed.domain} is not hosted here; add it with: postern domain add ${parsed.domain} --customer NAME`);
      const generated = password === undefined ? generatePassword() : null;
      const pw = password ?? generated!;
      checkPassword(pw);
      const mailbox = await store.mailboxes
        .add({ address: addressKey(address)!, domainId: domain.id, customerId: domain.customerId, passwordHash: await hashPassword(pw) })
        .catch(rethrow);
      return { mailbox, generated };
    },
    /** Sets a password (generated when none is given); the mailbox's console sessions end, except `keepSession` (the one that changed it). */
    async setPassword(
      address: string,
      password?: string,
      scope?: TenantScope,
      o: { keepSession?: string } = {},
    ): Promise<{ mailbox: Mailbox; generated: string | null }> {
      const m = await mailboxOrFail(address, scope);
      const generated = password === undefined ? generatePassword() : null;
      const pw = password ?? generated!;
      checkPassword(pw);
      const mailbox = (await store.mailboxes.setPassword(m.address, await hashPassword(pw)))!;
      await store.consoleSessions.removeSubject('mailbox', m.address, o.keepSession);
      return { mailbox, generated };
    },
    async suspend(address: string, scope?: TenantScope): Promise<Mailbox> {
      const m = await mailboxOrFail(address, scope);
      const suspended = (await store.mailboxes.setStatus(m.address, 'suspended'))!;
      await store.consoleSessions.removeSubject('mailbox', m.address);
      return suspended;
    },
    async resume(address: string, scope?: TenantScope): Promise<Mailbox> {
      const m = await mailboxOrFail(address, scope);
      return (await store.mailboxes.setStatus(m.address, 'active'))!;
    },
    async removeMailbox(address: string, scope?: TenantScope): Promise<void> {
      const m = await mailboxOrFail(address, scope);
      await store.mailboxes.remove(m.address);
      await store.consoleSessions.removeSubject('mailbox', m.address);
      // its console second factor goes with it: an address added again starts without one
      await store.consoleTotp.remove('mailbox', m.address);
    },
    async listMailboxes(filter: { customer?: string; domain?: string }, scope?: TenantScope): Promise<Mailbox[]> {
      const customerName = await listedCustomer(filter.customer, scope);
      const domain = filter.domain ? normalizeDomain(filter.domain) : undefined;
      if (filter.domain && !domain) throw new AdminError(`not a valid domain name: ${filter.domain}`);
      if (domain && scope) await domainOrFail(domain, scope);
      return store.mailboxes.list({ customerName, domain: domain ?? undefined });
    },
    /** A mailbox with its login state (failures, lock). */
    async getMailbox(address: string, scope?: TenantScope) {
      const m = await mailboxOrFail(address, scope);
      return { mailbox: m, login: await store.authGuard.loginState(m.id) };
    },
    ...queueOperations(store, now, customerOrFail),

    /** Sets (adds or replaces) the next hop of a domain. */
    async setRoute(
      domainInput: string,
      hostPort: string,
      tls: string = 'opportunistic',
      auth: { user: string; pass: string } | null = null,
    ): Promise<Route> {
      const domain = normalizeDomain(domainInput);
      if (!domain) throw new AdminError(`not a valid domain name: ${domainInput}`);
      if (!ROUTE_TLS.includes(tls as RouteTls)) throw new AdminError(`--tls must be one of ${ROUTE_TLS.join(', ')}: ${tls}`);
      const { host, port } = parseHostPort(hostPort);
      if (!auth) return store.routes.set({ domain, host, port, tls: tls as RouteTls });
      if (tls === 'none') throw new AdminError('--auth needs TLS: a password is never sent in clear (use --tls opportunistic or required)');
      if (!auth.user.trim() || /\s/.test(auth.user)) throw new AdminError(`not a valid login name: ${auth.user}`);
      if (!auth.pass) throw new AdminError('the relay password is empty');
      if (!secrets) throw new AdminError('no secrets key is configured for route passwords');
      return store.routes.set({ domain, host, port, tls: tls as RouteTls, authUser: auth.user, authSecret: secrets().seal(auth.pass) });
    },
    listRoutes: () => store.routes.list(),
    listAudit: (o: { target?: string; limit?: number } = {}) => store.audit.list(o),
    async removeRoute(domainInput: string): Promise<void> {
      const domain = normalizeDomain(domainInput);
      if (!domain) throw new AdminError(`not a valid domain name: ${domainInput}`);
      if (!(await store.routes.remove(domain))) throw missing(`no route for ${domain}`);
    },
  };
}

/** The operator's queue actions (`postern queue ...`). */
function queueOperations(store: Store, now: () => number, customerOrFail: (name: string, scope?: TenantScope) => Promise<Customer>) {
  async function messageOrFail(id: string, scope?: TenantScope): Promise<QueuedMessage> {
    const m = await store.queue.get(id);
    if (!m || !sees(scope, m.customerId)) throw missing(`no message ${id} in the queue`);
    return m;
  }
  const changed = (id: string) => new AdminError(`message ${id} changed meanwhile; look again with: postern queue show ${id}`);

  async function filterOf(input: QueueListInput, scope?: TenantScope): Promise<QueueFilter> {
    const { state, customer, limit } = input;
    if (state !== undefined && !(QUEUE_STATES as string[]).includes(state)) {
      throw new AdminError(`--state must be one of ${QUEUE_STATES.join(', ')}: ${state}`);
    }
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new AdminError('--limit must be a positive whole number');
    const domain = input.domain === undefined ? undefined : normalizeDomain(input.domain);
    if (domain === null) throw new AdminError(`not a valid domain name: ${input.domain}`);
    if (customer) await customerOrFail(customer, scope);
    const sender = input.sender === undefined ? undefined : input.sender.trim().replace(/^<(.*)>$/, '$1');
    if (input.site !== undefined) {
      const site = await store.sites.get(input.site);
      if (!site || !sees(scope, site.customerId)) throw missing(`no site named ${input.site}`);
    }
    return { state: state as QueueFilter['state'], domain, sender, customer: customer ?? scope?.customerName, site: input.site, limit };
  }

  return {
    listQueue: async (input: QueueListInput = {}, scope?: TenantScope) => store.queue.list(await filterOf(input, scope)),
    /** A message with every attempt of its recipients, oldest first. */
    async showMessage(id: string, scope?: TenantScope): Promise<{ message: QueuedMessage; attempts: AttemptRecord[] }> {
      const message = await messageOrFail(id, scope);
      return { message, attempts: await store.queue.attempts(id) };
    },
    /** Makes pending recipients due now (of one message, or of every message not held); returns how many. */
    async retryQueue(id: string | null): Promise<number> {
      if (id !== null) {
        const m = await messageOrFail(id);
        if (m.state === 'held') throw new AdminError(`message ${id} is held; release it to send it: postern queue release ${id}`);
        if (m.state === 'cancelled') throw new AdminError(`message ${id} is cancelled; the running server is bouncing it`);
      }
      return store.queue.retry(id, now());
    },
    async holdMessage(id: string): Promise<QueuedMessage> {
      const m = await messageOrFail(id);
      if (m.state === 'held') throw new AdminError(`message ${id} is already held`);
      if (m.state === 'cancelled') throw new AdminError(`message ${id} is cancelled (being bounced) and cannot be held`);
      if (!(await store.queue.hold(id))) throw changed(id);
      return m;
    },
    async releaseMessage(id: string): Promise<QueuedMessage> {
      const m = await messageOrFail(id);
      if (m.state !== 'held') throw new AdminError(`message ${id} is not held (it is ${m.state})`);
      if (!(await store.queue.release(id, now()))) throw changed(id);
      return m;
    },
    /**
     * Deletes a message now (and its spool file through removeBody), or with bounce: cancels it,
     * and the running server fails its pending recipients and bounces them to the sender. A
     * message with the null sender cannot be bounced: it is deleted.
     */
    async deleteMessage(id: string, o: { bounce?: boolean; removeBody: (relPath: string) => Promise<void> }): Promise<DeleteResult> {
      const m = await messageOrFail(id);
      const { waiting, inFlight } = pendingOf(m, now());
      const nullSender = Boolean(o.bounce) && m.sender === '';
      if (o.bounce && !nullSender) {
        if (m.state === 'cancelled') throw new AdminError(`message ${id} is already cancelled; the running server is bouncing it`);
        if (!(await store.queue.cancel(id, now()))) throw changed(id);
        return { message: m, outcome: 'cancelled', nullSender, inFlight, bounced: waiting.length, bodyError: null };
      }
      const removed = await store.queue.remove(id);
      if (!removed) throw new AdminError(`no message ${id} in the queue (finished meanwhile)`);
      let bodyError: string | null = null;
      if (removed.bodyPath)
        await o.removeBody(removed.bodyPath).catch((err: Error) => {
          bodyError = err.message;
        });
      return { message: removed, outcome: 'deleted', nullSender, inFlight, bounced: 0, bodyError };
    },
  };
}

/** What the audit trail records of each queue operation. */
const queueDeclarations = {
  listQueue: read,
  showMessage: read,
  retryQueue: audit('retryQueue', {
    target: (a) => str(a[0] ?? 'all'),
    snapshot: async (s, t) => (t === 'all' ? null : messageView(s, t)),
  }),
  holdMessage: audit('holdMessage', MESSAGE),
  releaseMessage: audit('releaseMessage', MESSAGE),
  deleteMessage: audit('deleteMessage', MESSAGE),
} satisfies Declarations<ReturnType<typeof queueOperations>>;

/** What the audit trail records of the customer, domain, mailbox and route operations written above. */
const accountOperations = {
  addCustomer: audit('addCustomer', { target: (a) => `customer:${str(a[0])}`, snapshot: (s, _t, a) => s.customers.get(str(a[0])) }),
  setContact: audit('setContact', { target: (a) => `customer:${str(a[0])}`, snapshot: (s, _t, a) => s.customers.get(str(a[0])) }),
  listCustomers: read,
  getCustomer: read,
  addDomain: audit('addDomain', { target: (a) => `domain:${domainKey(a)}`, snapshot: (s, _t, a) => s.domains.get(domainKey(a)) }),
  listDomains: read,
  getDomain: read,
  addMailbox: audit('addMailbox', MAILBOX),
  setPassword: audit('setPassword', MAILBOX),
  suspend: audit('suspend', MAILBOX),
  resume: audit('resume', MAILBOX),
  removeMailbox: audit('removeMailbox', MAILBOX),
  listMailboxes: read,
  getMailbox: read,
  setRoute: audit('setRoute', ROUTE),
  listRoutes: read,
  listAudit: read,
  removeRoute: audit('removeRoute', ROUTE),
} satisfies Partial<Declarations<ReturnType<typeof createService>>>;

/**
 * Every operation of the admin service with what the audit trail does with it: the compiler
 * refuses a service whose operation has no declaration here (see audit.ts).
 */
export const adminOperations: Declarations<ReturnType<typeof createService> & ReturnType<typeof createPoolService>> = {
  ...grantOperations,
  ...banOperations,
  ...limitOperations,
  ...holdOperations,
  ...siteOperations,
  ...trackingOperations,
  ...webhookOperations,
  ...suppressionOperations,
  ...dkimOperations,
  ...tokenOperations,
  ...figureOperations,
  ...lifecycleOperations,
  ...removalOperations,
  ...importOperations,
  ...appPasswordOperations,
  ...accountOperations,
  ...queueDeclarations,
  ...poolOperations,
};

export type AdminService = ReturnType<typeof createAdminService>;
