/**
 * The audit trail: every administrative change made through the admin service (the CLI and the
 * HTTP API) is recorded with who made it, what it was, its target, and the state of the
 * target before and after. Secrets never enter the trail (password hashes, route passwords).
 * Reads and refused changes (errors) leave no record. A failing audit write fails the command
 * loudly after the change: the operator is told, nothing is silently unaudited.
 */
import { addressKey, normalizeDomain } from '../core/index.ts';
import type { Store } from '../store/index.ts';

type Args = unknown[];
interface Audited { target(args: Args): string; snapshot(store: Store, target: string, args: Args): Promise<unknown> }

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
      const result = await (original as (...a: Args) => Promise<unknown>)(...args);
      const after = await how.snapshot(store, target, args).catch(() => null);
      await store.audit.add({ at: now(), actor, action: name, target, before: before ?? null, after: after ?? null });
      return result;
    };
  }
  return out as S;
}
