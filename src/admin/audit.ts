/**
 * The audit trail: every administrative change made through the admin service (the CLI and the
 * HTTP API) is recorded with who made it, what it was, its target, and the state of the
 * target before and after. Secrets never enter the trail (password hashes, route passwords).
 * Reads and refused changes (errors) leave no record, except a removal that changed something
 * before it stopped (ACTION:unfinished). A failing audit write fails the command
 * loudly after the change: the operator is told, nothing is silently unaudited.
 *
 * What is audited is declared next to each operation (the `...Operations` table of its file):
 * `read` for a read, `audit(ACTION, VIEW)` for a change, typed against the operation's own
 * parameters, or `unaudited(WHY)` for a change the trail deliberately leaves out. The views
 * below say how a change's target is named and how its state is shown.
 */
import { addressKey, normalizeDomain } from '../core/index.ts';
import type { Store } from '../store/index.ts';

type Args = readonly unknown[];
/** How a change's target is named from the operation's arguments, and how its state is shown (before and after). */
export interface AuditView<A extends Args> {
  target: (args: A) => string;
  snapshot: (store: Store, target: string, args: A) => Promise<unknown>;
  /** It can fail after changing something (a removal whose mail did not drain): the failure is recorded too, as ACTION:unfinished. */
  partial?: boolean;
}
/** An audited change: the action its rows carry (stable whatever the method is called) and its view. */
export interface Audited<A extends Args> extends AuditView<A> {
  action: string;
}

/** What the trail does with one operation: nothing (a read), a row per call, or nothing on purpose (said why). */
export type Declaration<F> = F extends (...args: infer A) => unknown
  ? { read: true } | { audit: Audited<A> } | { unaudited: string }
  : never;
/** One declaration for every operation of a service: the compiler refuses a missing or misnamed one. */
export type Declarations<S> = { [K in keyof S]: Declaration<S[K]> };

export const read = { read: true } as const;
export const audit = <A extends Args>(action: string, view: AuditView<A>): { audit: Audited<A> } => ({ audit: { action, ...view } });
export const unaudited = (why: string) => ({ unaudited: why });

export const str = (v: unknown) => String(v ?? '');
export const mailboxKey = (a: Args) => addressKey(str(a[0])) ?? str(a[0]);
export const domainKey = (a: Args) => normalizeDomain(str(a[0])) ?? str(a[0]);

export async function mailbox(store: Store, address: string) {
  const m = await store.mailboxes.get(address);
  if (!m) return null;
  const login = await store.authGuard.loginState(m.id);
  const grants = (await store.grants.list(m.id)).map((g) => `${g.kind}:${g.value || '<>'}`);
  return {
    address: m.address,
    customer: m.customerName,
    status: m.status,
    credentialVersion: m.credentialVersion,
    lockedUntil: login.lockedUntil,
    grants,
  };
}

export async function message(store: Store, id: string) {
  const m = await store.queue.get(id);
  return m && { state: m.state, sender: m.sender, recipients: m.recipients.map((r) => `${r.address}:${r.state}`) };
}

export const MAILBOX: AuditView<[address: string, ...unknown[]]> = { target: mailboxKey, snapshot: (s, t) => mailbox(s, t) };
export const MESSAGE: AuditView<[id: string, ...unknown[]]> = { target: (a) => str(a[0]), snapshot: (s, t) => message(s, t) };
export const ROUTE: AuditView<[domain: string, ...unknown[]]> = {
  target: domainKey,
  snapshot: async (s, t) => {
    const r = await s.routes.get(t);
    return r && { host: r.host, port: r.port, tls: r.tls, login: r.authUser };
  },
};
export const LIMITS: AuditView<[level: string, target: string | undefined, ...unknown[]]> = {
  target: (a) => `${str(a[0])}:${a[1] === undefined ? '*' : str(a[1])}`,
  snapshot: async (s, _t, a) =>
    (await s.limits.list({ level: str(a[0]) as never }))
      .filter((r) => r.target === (a[1] === undefined ? '*' : (addressKey(str(a[1])) ?? normalizeDomain(str(a[1])) ?? str(a[1]))))
      .map((r) => `${r.window}:${r.metric}:${r.max}:${r.action}`),
};

export const SITE: AuditView<[name: string, ...unknown[]]> = {
  target: (a) => `site:${str(a[0])}`,
  snapshot: async (s, _t, a) => {
    const site = await s.sites.get(str(a[0]));
    if (!site) return null;
    // never the token, nor its hash
    return {
      customer: site.customerName,
      unixUser: site.unixUser,
      heldSince: site.heldSince,
      updatedAt: site.updatedAt,
      grants: (await s.sites.grants(site.id)).map((g) => `${g.kind}:${g.value}`),
    };
  },
};

export const DKIM: AuditView<[domain: string, ...unknown[]]> = {
  target: (a) => `dkim:${domainKey(a)}`,
  snapshot: async (s, t) =>
    (await s.dkim.list(t.slice('dkim:'.length))).filter((k) => k.state !== 'retired').map((k) => `${k.selector}:${k.algorithm}:${k.state}`),
};

/** A webhook endpoint as the trail shows it: never its secret (a rotation shows as a new updatedAt). */
export const WEBHOOK: AuditView<[id: string, ...unknown[]]> = {
  target: (a) => `webhook:${str(a[0])}`,
  snapshot: async (s, t) => {
    const e = await s.webhooks.endpoint(t.slice('webhook:'.length));
    return e && { customer: e.customerName, url: e.url, events: e.events, enabled: e.enabled, updatedAt: e.updatedAt };
  },
};
export const WEBHOOKS_OF: AuditView<[input: { customer?: string }, ...unknown[]]> = {
  target: (a) => `webhooks:${str((a[0] as { customer?: string } | undefined)?.customer)}`,
  snapshot: async (s, t) => {
    const c = await s.customers.get(t.slice('webhooks:'.length));
    return c && (await s.webhooks.endpoints({ customerId: c.id })).map((e) => `${e.id}:${e.url}:${e.events.join(',')}`);
  },
};
export const TOKEN: AuditView<[name: string, ...unknown[]]> = {
  target: (a) => `token:${str(a[0])}`,
  snapshot: async (s, _t, a) => {
    const t = await s.apiTokens.get(str(a[0]));
    // never the token, nor its hash
    return t && { scope: t.customerName ?? 'operator', revokedAt: t.revokedAt };
  },
};
/** suppression:CUSTOMER:ADDRESS, from (address, { customer }, scope?) */
export const SUPPRESSION: AuditView<[address: string, o: { customer?: string }, scope?: { customer?: string }, ...unknown[]]> = {
  target: (a) => {
    const scope = a[2] as { customer?: string } | undefined;
    const address = str(a[0])
      .trim()
      .replace(/^<(.*)>$/, '$1');
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
export async function customer(store: Store, name: string) {
  const c = await store.customers.get(name);
  if (!c) return null;
  const domains = (await store.domains.list(c.name)).map((d) => d.name);
  return {
    name: c.name,
    status: c.status,
    suspendedAt: c.suspendedAt,
    contact: c.contact,
    domains,
    sites: (await store.sites.list(c.name)).length,
  };
}
export const CUSTOMER: AuditView<[name: string, ...unknown[]]> = {
  target: (a) => `customer:${str(a[0])}`,
  snapshot: (s, t) => customer(s, t.slice('customer:'.length)),
};
/** A domain as the trail shows it: its customer, mailboxes and DKIM selectors. */
export const DOMAIN: AuditView<[domain: string, ...unknown[]]> = {
  target: (a) => `domain:${domainKey(a)}`,
  snapshot: async (s, t) => {
    const d = await s.domains.get(t.slice('domain:'.length));
    if (!d) return null;
    return {
      customer: d.customerName,
      mailboxes: (await s.mailboxes.list({ domain: d.name })).map((m) => `${m.address}:${m.status}`),
      dkim: (await s.dkim.list(d.name)).map((k) => `${k.selector}:${k.state}`),
    };
  },
};

/** A mailbox's app passwords as the trail shows them: names and the mode, never a hash. */
export const APP_PASSWORDS: AuditView<[address: string, ...unknown[]]> = {
  target: mailboxKey,
  snapshot: async (s, t) => {
    const m = await s.mailboxes.get(t);
    return m && { appPasswordsOnly: m.appPasswordsOnly, appPasswords: (await s.appPasswords.list(m.id)).map((a) => a.name) };
  },
};

export const POOL: AuditView<[kind: string, name: string, ...unknown[]]> = {
  target: (a) => `pool:${str(a[0])}:${str(a[0]) === 'domain' ? domainKey([a[1]]) : str(a[1])}`,
  snapshot: async (s, t) => {
    const [, kind = '', ...rest] = t.split(':');
    return (await s.pools.get(kind as never, rest.join(':')))?.pool ?? null;
  },
};

/** The service with every audited operation recording its change (see the declarations). */
export function withAudit<S extends object>(service: S, declared: Declarations<S>, store: Store, actor: string, now: () => number): S {
  const out = { ...service } as Record<string, unknown>;
  for (const [name, d] of Object.entries(declared as Record<string, Declaration<(...a: unknown[]) => unknown>>)) {
    const original = out[name];
    if (!('audit' in d) || typeof original !== 'function') continue;
    const how = d.audit;
    out[name] = async (...args: unknown[]) => {
      const target = how.target(args);
      const before = await how.snapshot(store, target, args).catch(() => null);
      let result: unknown;
      try {
        result = await (original as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (err) {
        if (how.partial) {
          const after = await how.snapshot(store, target, args).catch(() => null);
          if (JSON.stringify(after) !== JSON.stringify(before))
            await store.audit.add({
              at: now(),
              actor,
              action: `${how.action}:unfinished`,
              target,
              before: before ?? null,
              after: after ?? null,
            });
        }
        throw err;
      }
      const after = await how.snapshot(store, target, args).catch(() => null);
      await store.audit.add({ at: now(), actor, action: how.action, target, before: before ?? null, after: after ?? null });
      return result;
    };
  }
  return out as S;
}
