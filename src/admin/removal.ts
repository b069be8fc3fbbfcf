/**
 * Removing a customer or a domain, and moving a domain to another customer, for the admin
 * service. Each has a plan (the dry run: everything affected, changing nothing) and an
 * execution that settles the queued mail first (drain: delivered, waiting at most `waitMs`;
 * bounce: failed back to the senders) and then removes or moves in one store transaction.
 */
import { domainOf, type Customer, type Domain, type QueuedMessage } from '../core/index.ts';
import { dkimRecordName, dkimRecordValue } from '../dkim/index.ts';
import type { GrantRef, Store } from '../store/index.ts';
import { customerEvent } from '../webhooks/index.ts';
import { AdminError } from './errors.ts';
import { queuedOf, releaseCustomerHolds } from './lifecycle.ts';
import { audit, read, CUSTOMER, DOMAIN, type Declarations } from './audit.ts';

export interface PlanGrant extends GrantRef {
  fate: 'removed' | 'crossing' | 'kept';
}
export interface PlanDkim {
  domain: string;
  selector: string;
  algorithm: string;
  state: string;
  record: string;
  value: string;
}

/** Everything an operation touches; the dry run prints it, the execution reports it. */
export interface LifecyclePlan {
  action: 'customer remove' | 'domain remove' | 'domain move';
  target: string;
  customer: string;
  /** domain move: the customer it goes to. */
  to: string | null;
  domains: string[];
  mailboxes: string[];
  sites: string[];
  grants: PlanGrant[];
  /** Their private keys are destroyed with the domain; the records can then leave the DNS. */
  dkim: PlanDkim[];
  routes: string[];
  limits: string[];
  suppressions: number;
  webhooks: string[];
  tokens: string[];
  queued: { id: string; state: string; sender: string }[];
}

export interface SettleOptions {
  /** drain: deliver first (the default); bounce: fail the pending recipients back to their senders. */
  mode?: 'drain' | 'bounce';
  /** How long to wait for the queue (ms). */
  waitMs?: number;
  removeBody: (relPath: string) => Promise<void>;
}

export interface RemovalResult {
  plan: LifecyclePlan;
  bounced: number;
  deleted: number;
  waitedMs: number;
  /** customer.removed to its webhook endpoints: none subscribed, delivered, or not (failed or still pending when the wait ended). */
  webhook?: 'none' | 'delivered' | 'not-delivered';
}

/** How long a removal waits for its customer.removed webhook to be sent (its endpoints go with the customer). */
const WEBHOOK_WAIT_MS = 10_000;

const grantText = (kind: string, value: string) => `${kind}:${value || '<>'}`;
const at = (domain: string) => (v: string | null | undefined) => Boolean(v) && domainOf(v!) === domain;

export function createRemovalService(
  store: Store,
  now: () => number,
  customerOrFail: (name: string) => Promise<Customer>,
  domainOrFail: (name: string) => Promise<Domain>,
) {
  /** Every grant of a customer's mailboxes and sites. */
  async function grantsOf(customer: string): Promise<GrantRef[]> {
    const out: GrantRef[] = [];
    for (const m of await store.mailboxes.list({ customerName: customer })) {
      for (const g of await store.grants.list(m.id))
        out.push({ holder: 'mailbox', id: m.id, name: m.address, kind: g.kind, value: g.value });
    }
    for (const s of await store.sites.list(customer)) {
      for (const g of await store.sites.grants(s.id)) out.push({ holder: 'site', id: s.id, name: s.name, kind: g.kind, value: g.value });
    }
    return out;
  }
  const onDomain = (g: GrantRef, domain: string) =>
    g.kind === 'domain' ? g.value === domain : g.kind === 'address' && domainOf(g.value) === domain;

  async function domainParts(domains: string[]) {
    const dkim: PlanDkim[] = [];
    const routes: string[] = [];
    for (const d of domains) {
      for (const k of await store.dkim.list(d)) {
        dkim.push({
          domain: d,
          selector: k.selector,
          algorithm: k.algorithm,
          state: k.state,
          record: dkimRecordName(k.selector, d),
          value: dkimRecordValue(k.algorithm, k.publicKey),
        });
      }
      const r = await store.routes.get(d);
      if (r) routes.push(`${d} -> ${r.host}:${r.port}`);
    }
    return { dkim, routes };
  }
  async function limitsOf(match: (level: string, target: string) => boolean): Promise<string[]> {
    return (await store.limits.list())
      .filter((r) => match(r.level, r.target))
      .map((r) => `${r.level} ${r.target}: ${r.max} ${r.metric} per ${r.window} (${r.action})`);
  }
  const queuedRows = (ms: QueuedMessage[]) =>
    ms.map((m) => ({ id: m.id, state: m.holdReason ? `${m.state} (${m.holdReason})` : m.state, sender: m.sender || '<>' }));
  const ofDomain = (domain: string) => (m: QueuedMessage) => at(domain)(m.authUser) || at(domain)(m.sender);

  async function customerPlan(name: string): Promise<LifecyclePlan> {
    const c = await customerOrFail(name);
    const domains = (await store.domains.list(c.name)).map((d) => d.name);
    const sites = (await store.sites.list(c.name)).map((s) => s.name);
    return {
      action: 'customer remove',
      target: c.name,
      customer: c.name,
      to: null,
      domains,
      mailboxes: (await store.mailboxes.list({ customerName: c.name })).map((m) => m.address),
      sites,
      grants: (await grantsOf(c.name)).map((g) => ({ ...g, fate: 'removed' as const })),
      ...(await domainParts(domains)),
      limits: await limitsOf(
        (level, target) =>
          (level === 'customer' && target === c.name) ||
          (level === 'domain' && domains.includes(target)) ||
          (level === 'mailbox' && domains.includes(domainOf(target) ?? '')) ||
          (level === 'site' && sites.includes(target)),
      ),
      suppressions: (await store.suppressions.list({ customerId: c.id, limit: 1_000_000 })).length,
      webhooks: (await store.webhooks.endpoints({ customerId: c.id })).map((e) => `${e.id} ${e.url}`),
      tokens: (await store.apiTokens.list()).filter((t) => t.customerId === c.id).map((t) => t.name),
      queued: queuedRows(await queuedOf(store, c.name)),
    };
  }

  async function domainPlan(input: string): Promise<LifecyclePlan> {
    const d = await domainOrFail(input);
    return {
      action: 'domain remove',
      target: d.name,
      customer: d.customerName,
      to: null,
      domains: [d.name],
      mailboxes: (await store.mailboxes.list({ domain: d.name })).map((m) => m.address),
      sites: [],
      grants: (await grantsOf(d.customerName))
        .filter((g) => (g.holder === 'mailbox' && domainOf(g.name) === d.name) || onDomain(g, d.name))
        .map((g) => ({ ...g, fate: 'removed' as const })),
      ...(await domainParts([d.name])),
      limits: await limitsOf(
        (level, target) => (level === 'domain' && target === d.name) || (level === 'mailbox' && domainOf(target) === d.name),
      ),
      suppressions: 0,
      webhooks: [],
      tokens: [],
      queued: queuedRows((await queuedOf(store, d.customerName)).filter(ofDomain(d.name))),
    };
  }

  async function movePlan(input: string, toName: string): Promise<LifecyclePlan> {
    const d = await domainOrFail(input);
    const to = await customerOrFail(toName);
    if (to.id === d.customerId) throw new AdminError(`domain ${d.name} already belongs to customer ${to.name}`);
    const mine = (g: GrantRef) => g.holder === 'mailbox' && domainOf(g.name) === d.name;
    const grants: PlanGrant[] = [];
    for (const g of await grantsOf(d.customerName)) {
      if (g.holder === 'site' && onDomain(g, d.name))
        grants.push({ ...g, fate: 'removed' }); // sites stay with the old customer
      else if (mine(g)) grants.push({ ...g, fate: g.kind === 'null-sender' || onDomain(g, d.name) ? 'kept' : 'crossing' });
      else if (onDomain(g, d.name)) grants.push({ ...g, fate: 'crossing' });
    }
    return {
      action: 'domain move',
      target: d.name,
      customer: d.customerName,
      to: to.name,
      domains: [d.name],
      mailboxes: (await store.mailboxes.list({ domain: d.name })).map((m) => m.address),
      sites: [],
      grants,
      ...(await domainParts([d.name])),
      limits: await limitsOf(
        (level, target) => (level === 'domain' && target === d.name) || (level === 'mailbox' && domainOf(target) === d.name),
      ),
      suppressions: 0,
      webhooks: [],
      tokens: [],
      queued: queuedRows((await queuedOf(store, d.customerName)).filter(ofDomain(d.name))),
    };
  }

  /** Settles the queued mail that `pick` selects: drained (delivered) or bounced, waiting at most waitMs; returns what is left. */
  async function settle(customer: string, pick: (m: QueuedMessage) => boolean, o: SettleOptions) {
    let bounced = 0;
    let deleted = 0;
    if (o.mode === 'bounce') {
      for (const m of (await queuedOf(store, customer)).filter(pick)) {
        if (m.sender === '' || m.state === 'cancelled') {
          if (m.state === 'cancelled') continue;
          const removed = await store.queue.remove(m.id);
          if (removed) deleted++;
          if (removed?.bodyPath) await o.removeBody(removed.bodyPath).catch(() => undefined); // swept at the next start
        } else if (await store.queue.cancel(m.id, now())) bounced++;
      }
    }
    const started = Date.now(); // a wall-clock wait, whatever clock the service runs on
    const deadline = started + (o.waitMs ?? 120_000);
    let left = (await queuedOf(store, customer)).filter(pick).filter((m) => m.sender !== '');
    while (left.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(1, deadline - Date.now()))));
      left = (await queuedOf(store, customer)).filter(pick).filter((m) => m.sender !== '');
    }
    return { bounced, deleted, left, waitedMs: Date.now() - started };
  }
  const unsettled = (what: string, left: QueuedMessage[], waitedMs: number, resume: string) =>
    new AdminError(
      `${what}: ${left.length} queued message(s) still there after ${Math.round(waitedMs / 1000)} s (${left
        .slice(0, 5)
        .map((m) => `${m.id} ${m.holdReason ? `held (${m.holdReason})` : m.state}`)
        .join(', ')}${left.length > 5 ? ', ...' : ''}); ` +
        `nothing was removed. Run it again to wait longer, or with --bounce to send them back; ${resume}`,
      'conflict',
    );

  /** Queues customer.removed and waits (a little) until the running server has sent it: the endpoints are removed with the customer. */
  async function announceRemoval(plan: LifecyclePlan): Promise<RemovalResult['webhook']> {
    const c = await customerOrFail(plan.customer);
    const event = customerEvent('customer.removed', c, now(), {
      domains: plan.domains,
      mailboxes: plan.mailboxes.length,
      sites: plan.sites.length,
    });
    if (!(await store.webhooks.enqueue([event], now()))) return 'none';
    const deadline = Date.now() + WEBHOOK_WAIT_MS;
    for (;;) {
      const mine = (await store.webhooks.log({ customerId: c.id, limit: 1000 })).filter((d) => d.eventId === event.id);
      if (mine.every((d) => d.state === 'delivered')) return 'delivered';
      if (mine.every((d) => d.state !== 'pending') || Date.now() >= deadline) return 'not-delivered';
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    planCustomerRemoval: customerPlan,
    planDomainRemoval: domainPlan,
    planDomainMove: movePlan,
    /**
     * Removes a customer: it is refused everywhere at once (status removing), its queued mail
     * settled, then everything of it removed in one transaction. Mail that does not settle in
     * time leaves it refused and in place (run again, or resume it to call the removal off).
     */
    async removeCustomer(name: string, o: SettleOptions): Promise<RemovalResult> {
      const plan = await customerPlan(name);
      await store.customers.setStatus(plan.customer, 'removing', now());
      if ((o.mode ?? 'drain') === 'drain') await releaseCustomerHolds(store, await customerOrFail(plan.customer), now);
      const s = await settle(plan.customer, () => true, o);
      if (s.left.length)
        throw unsettled(
          `customer ${plan.customer} is not removed`,
          s.left,
          s.waitedMs,
          `\`postern customer resume ${plan.customer}\` calls the removal off`,
        );
      const webhook = await announceRemoval(plan);
      const removed = await store.customers.remove(plan.customer).catch((err: Error) => {
        throw new AdminError(err.message, 'conflict');
      });
      if (!removed) throw new AdminError(`customer ${plan.customer} was removed meanwhile`, 'conflict');
      return { plan, bounced: s.bounced, deleted: s.deleted, waitedMs: s.waitedMs, webhook };
    },
    /** Removes a domain: its mailboxes are suspended at once, the mail they sent settled, then the domain removed in one transaction. */
    async removeDomain(input: string, o: SettleOptions): Promise<RemovalResult> {
      const plan = await domainPlan(input);
      for (const m of plan.mailboxes) await store.mailboxes.setStatus(m, 'suspended');
      for (const m of plan.mailboxes) await store.consoleSessions.removeSubject('mailbox', m);
      const s = await settle(plan.customer, ofDomain(plan.target), o);
      if (s.left.length)
        throw unsettled(
          `domain ${plan.target} is not removed (its mailboxes stay suspended)`,
          s.left,
          s.waitedMs,
          '`postern mailbox resume ADDRESS` lets a mailbox send again',
        );
      if (!(await store.domains.remove(plan.target))) throw new AdminError(`domain ${plan.target} was removed meanwhile`, 'conflict');
      return { plan, bounced: s.bounced, deleted: s.deleted, waitedMs: s.waitedMs };
    },
    /** Moves a domain with its mailboxes to another customer; grants that would cross customers fail it unless dropCrossing. */
    async moveDomain(
      input: string,
      toName: string,
      o: { dropCrossing?: boolean } = {},
    ): Promise<{ plan: LifecyclePlan; domain: Domain; dropped: PlanGrant[] }> {
      const plan = await movePlan(input, toName);
      const crossing = plan.grants.filter((g) => g.fate === 'crossing');
      if (crossing.length && !o.dropCrossing) {
        throw new AdminError(
          `domain ${plan.target} is not moved: ${crossing.length} grant(s) would cross customers (${crossing.map((g) => `${g.name} ${grantText(g.kind, g.value)}`).join(', ')}); ` +
            'take them back first, or give --drop-crossing-grants',
          'conflict',
        );
      }
      const to = await customerOrFail(toName);
      const dropped = plan.grants.filter((g) => g.fate !== 'kept');
      const domain = await store.domains.move(plan.target, to.id, dropped);
      if (!domain) throw new AdminError(`domain ${plan.target} was removed meanwhile`, 'conflict');
      return { plan, domain, dropped };
    },
  };
}

/** What the audit trail records of removals and moves; a removal that stopped halfway is recorded as unfinished. */
export const removalOperations = {
  planCustomerRemoval: read,
  planDomainRemoval: read,
  planDomainMove: read,
  removeCustomer: audit('removeCustomer', { ...CUSTOMER, partial: true }),
  removeDomain: audit('removeDomain', { ...DOMAIN, partial: true }),
  moveDomain: audit('moveDomain', DOMAIN),
} satisfies Declarations<ReturnType<typeof createRemovalService>>;
