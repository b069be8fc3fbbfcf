/**
 * The audit trail: every administrative change made through the admin service (the CLI and the
 * HTTP API) is recorded with who made it, what it was, its target, and the state of the
 * target before and after. Secrets never enter the trail (password hashes, route passwords).
 * Reads and refused changes (errors) leave no record, except a removal that changed something
 * before it stopped (ACTION:unfinished). A failing audit write fails the command
 * loudly after the change: the operator is told, nothing is silently unaudited.
 */
import { addressKey, normalizeDomain } from '../core/index.ts';
import type { Store } from '../store/index.ts';

type Args = unknown[];
interface Audited {
  target(args: Args): string;
  snapshot(store: Store, target: string, args: Args): Promise<unknown>;
  /** It can fail after changing something (a removal whose mail did not drain): the failure is recorded too, as ACTION:unfinished. */
  partial?: boolean;
}

const str = (v: unknown) => String(v ?? '');
const mailboxKey = (a: Args) => addressKey(str(a[0])) ?? str(a[0]);
const domainKey = (a: Args) => normalizeDomain(str(a[0])) ?? str(a[0]);

async function mailbox(store: Store, address: string) {
  const m = await store.mailboxes.get(address);
  if (!m) return null;
  const login = await store.authGuard.loginState(m.id);
  const grants = (await store.grants.list(m.id)).map((g) => `${g.kind}:${g.value || '<>'}`);
  return { address: m.address, customer: m.customerName, status: m.status, credentialVersion: m.credentialVersion, lockedUntil: login.lockedUntil, grants };
}

async function message(store: Store, id: string) {
  const m = await store.queue.get(id);
  return m && { state: m.state, sender: m.sender, recipients: m.recipients.map((r) => `${r.address}:${r.state}`) };
}

const MAILBOX: Audited = { target: mailboxKey, snapshot: (s, t) => mailbox(s, t) };
const MESSAGE: Audited = { target: (a) => str(a[0]), snapshot: (s, t) => message(s, t) };
const ROUTE: Audited = {
  target: domainKey,
  snapshot: async (s, t) => {
    const r = await s.routes.get(t);
    return r && { host: r.host, port: r.port, tls: r.tls, login: r.authUser };
  },
};
const LIMITS: Audited = {
  target: (a) => `${str(a[0])}:${a[1] === undefined ? '*' : str(a[1])}`,
  snapshot: async (s, _t, a) => (await s.limits.list({ level: str(a[0]) as never }))
    .filter((r) => r.target === (a[1] === undefined ? '*' : (addressKey(str(a[1])) ?? normalizeDomain(str(a[1])) ?? str(a[1]))))
    .map((r) => `${r.window}:${r.metric}:${r.max}:${r.action}`),
};

const SITE: Audited = {
  target: (a) => `site:${str(a[0])}`,
  snapshot: async (s, _t, a) => {
    const site = await s.sites.get(str(a[0]));
    if (!site) return null;
    // never the token, nor its hash
    return { customer: site.customerName, unixUser: site.unixUser, heldSince: site.heldSince, updatedAt: site.updatedAt, grants: (await s.sites.grants(site.id)).map((g) => `${g.kind}:${g.value}`) };
  },
};

const DKIM: Audited = {
  target: (a) => `dkim:${domainKey(a)}`,
  snapshot: async (s, t) => (await s.dkim.list(t.slice('dkim:'.length))).filter((k) => k.state !== 'retired').map((k) => `${k.selector}:${k.algorithm}:${k.state}`),
};

/** A webhook endpoint as the trail shows it: never its secret (a rotation shows as a new updatedAt). */
const WEBHOOK: Audited = {
  target: (a) => `webhook:${str(a[0])}`,
  snapshot: async (s, t) => {
    const e = await s.webhooks.endpoint(t.slice('webhook:'.length));
    return e && { customer: e.customerName, url: e.url, events: e.events, enabled: e.enabled, updatedAt: e.updatedAt };
  },
};
const WEBHOOKS_OF: Audited = {
  target: (a) => `webhooks:${str((a[0] as { customer?: string } | undefined)?.customer)}`,
  snapshot: async (s, t) => {
    const c = await s.customers.get(t.slice('webhooks:'.length));
    return c && (await s.webhooks.endpoints({ customerId: c.id })).map((e) => `${e.id}:${e.url}:${e.events.join(',')}`);
  },
};
const TOKEN: Audited = {
  target: (a) => `token:${str(a[0])}`,
  snapshot: async (s, _t, a) => {
    const t = await s.apiTokens.get(str(a[0]));
    // never the token, nor its hash
    return t && { scope: t.customerName ?? 'operator', revokedAt: t.revokedAt };
  },
};
/** suppression:CUSTOMER:ADDRESS, from (address, { customer }, scope?) */
const SUPPRESSION: Audited = {
  target: (a) => {
    const scope = a[2] as { customer?: string } | undefined;
    const address = str(a[0]).trim().replace(/^<(.*)>$/, '$1');
    return `suppression:${str(scope?.customer ?? (a[1] as { customer?: string } | undefined)?.customer)}:${addressKey(address) ?? address}`;
  },
  snapshot: async (s, t) => {
    const rest = t.slice('suppression:'.length); // customer names have no ':', addresses may
    const c = await s.customers.get(rest.slice(0, rest.indexOf(':')));
    const e = c ? (await s.suppressions.list({ customerId: c.id, address: rest.slice(rest.indexOf(':') + 1), limit: 1 }))[0] : null;
    return e && { source: e.source, reason: e.reason, until: new Date(e.until).toISOString() };
  },
};

/** A customer as the trail shows it: its status and what it holds (counts). */
async function customer(store: Store, name: string) {
  const c = await store.customers.get(name);
  if (!c) return null;
  const domains = (await store.domains.list(c.name)).map((d) => d.name);
  return { name: c.name, status: c.status, suspendedAt: c.suspendedAt, contact: c.contact, domains, sites: (await store.sites.list(c.name)).length };
}
const CUSTOMER: Audited = { target: (a) => `customer:${str(a[0])}`, snapshot: (s, t) => customer(s, t.slice('customer:'.length)) };
/** A domain as the trail shows it: its customer, mailboxes and DKIM selectors. */
const DOMAIN: Audited = {
  target: (a) => `domain:${domainKey(a)}`,
  snapshot: async (s, t) => {
    const d = await s.domains.get(t.slice('domain:'.length));
    if (!d) return null;
    return { customer: d.customerName, mailboxes: (await s.mailboxes.list({ domain: d.name })).map((m) => `${m.address}:${m.status}`), dkim: (await s.dkim.list(d.name)).map((k) => `${k.selector}:${k.state}`) };
  },
};

/** A mailbox's app passwords as the trail shows them: names and the mode, never a hash. */
const APP_PASSWORDS: Audited = {
  target: mailboxKey,
  snapshot: async (s, t) => {
    const m = await s.mailboxes.get(t);
    return m && { appPasswordsOnly: m.appPasswordsOnly, appPasswords: (await s.appPasswords.list(m.id)).map((a) => a.name) };
  },
};

const POOL: Audited = {
  target: (a) => `pool:${str(a[0])}:${str(a[0]) === 'domain' ? domainKey([a[1]]) : str(a[1])}`,
  snapshot: async (s, t) => {
    const [, kind = '', ...rest] = t.split(':');
    return (await s.pools.get(kind as never, rest.join(':')))?.pool ?? null;
  },
};

/** The service methods that change something, and how to see their target. */
const AUDITED: Record<string, Audited> = {
  addCustomer: { target: (a) => `customer:${str(a[0])}`, snapshot: (s, _t, a) => s.customers.get(str(a[0])) },
  setContact: { target: (a) => `customer:${str(a[0])}`, snapshot: (s, _t, a) => s.customers.get(str(a[0])) },
  addDomain: { target: (a) => `domain:${domainKey(a)}`, snapshot: (s, _t, a) => s.domains.get(domainKey(a)) },
  suspendCustomer: CUSTOMER, resumeCustomer: CUSTOMER, removeCustomer: { ...CUSTOMER, partial: true },
  // the record is kept under the old name's target, and its after shows the new name
  renameCustomer: { target: (a) => `customer:${str(a[0])}`, snapshot: async (s, t, a) => (await customer(s, t.slice('customer:'.length))) ?? customer(s, str(a[1])) },
  removeDomain: { ...DOMAIN, partial: true }, moveDomain: DOMAIN,
  addMailbox: MAILBOX, setPassword: MAILBOX, suspend: MAILBOX, resume: MAILBOX, removeMailbox: MAILBOX,
  grant: MAILBOX, revoke: MAILBOX, unlock: MAILBOX,
  setRoute: ROUTE, removeRoute: ROUTE,
  assignPool: POOL, unassignPool: POOL,
  setLimit: LIMITS, clearLimit: LIMITS,
  rotateDkim: DKIM, activateDkim: DKIM,
  addSuppression: SUPPRESSION, removeSuppression: SUPPRESSION,
  addSite: SITE, removeSite: SITE, rotateSiteToken: SITE, grantSite: SITE, revokeSite: SITE,
  addWebhook: WEBHOOKS_OF, removeWebhook: WEBHOOK, rotateWebhookSecret: WEBHOOK, setWebhookEnabled: WEBHOOK, testWebhook: WEBHOOK,
  removeBan: { target: (a) => `ip:${str(a[0])}`, snapshot: (s, _t, a) => s.authGuard.banOf(str(a[0]), Date.now()) },
  releaseHold: {
    target: (a) => (str(a[0]).includes('@') ? mailboxKey(a) : str(a[0])),
    snapshot: (s, t) => (t.startsWith('site:') ? SITE.snapshot(s, t, [t.slice('site:'.length)]) : t.includes('@') ? mailbox(s, t) : message(s, t)),
  },
  purgeHold: { target: (a) => (str(a[0]).startsWith('site:') ? str(a[0]) : mailboxKey(a)), snapshot: (s, t) => (t.startsWith('site:') ? SITE.snapshot(s, t, [t.slice('site:'.length)]) : mailbox(s, t)) },
  addToken: TOKEN, revokeToken: TOKEN,
  // imports: how many mailboxes came from an import, and how many grants there are, before and after
  importMailboxes: { target: () => 'import:mailboxes', snapshot: async (s) => ({ imported: (await s.mailboxes.list()).filter((m) => m.source === 'import').length }) },
  importGrants: {
    target: () => 'import:grants',
    snapshot: async (s) => ({ grants: (await Promise.all((await s.mailboxes.list()).map((m) => s.grants.list(m.id)))).reduce((n, g) => n + g.length, 0) }),
  },
  addAppPassword: APP_PASSWORDS, revokeAppPassword: APP_PASSWORDS, setAppPasswordsOnly: APP_PASSWORDS,
  holdMessage: MESSAGE, releaseMessage: MESSAGE, deleteMessage: MESSAGE, retryQueue: { target: (a) => str(a[0] ?? 'all'), snapshot: async (s, t) => (t === 'all' ? null : message(s, t)) },
};

export function withAudit<S extends object>(service: S, store: Store, actor: string, now: () => number): S {
  const out = { ...service } as Record<string, unknown>;
  for (const [name, how] of Object.entries(AUDITED)) {
    const original = out[name];
    if (typeof original !== 'function') continue;
    out[name] = async (...args: Args) => {
      const target = how.target(args);
      const before = await how.snapshot(store, target, args).catch(() => null);
      let result: unknown;
      try {
        result = await (original as (...a: Args) => Promise<unknown>)(...args);
      } catch (err) {
        if (how.partial) {
          const after = await how.snapshot(store, target, args).catch(() => null);
          if (JSON.stringify(after) !== JSON.stringify(before)) await store.audit.add({ at: now(), actor, action: `${name}:unfinished`, target, before: before ?? null, after: after ?? null });
        }
        throw err;
      }
      const after = await how.snapshot(store, target, args).catch(() => null);
      await store.audit.add({ at: now(), actor, action: name, target, before: before ?? null, after: after ?? null });
      return result;
    };
  }
  return out as S;
}
