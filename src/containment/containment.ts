/**
 * Compromise containment: the signs of a stolen mailbox, checked after each login and each
 * accepted message: recipients this clock hour far above the mailbox's own baseline (its
 * average hour over the last `baselineDays`), many distinct recipient domains in the hour,
 * logins from many networks (/24 for IPv4, /48 for IPv6) in the hour, and a high share of
 * deferred or failed delivery attempts of its mail in the hour (lists of bought addresses), and
 * messages the content scanner held or refused as spam in the hour. When one trips, the
 * mailbox is put on hold (its new mail is held or refused, per `onHold`), it is logged, and the
 * customer's contact and the postmaster are notified once. Never blocks the session: it runs
 * after the reply, and its own failures are only logged.
 */
import type { Logger } from 'pino';
import { ipNetwork, type Clock, type Mailbox } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { Metrics } from '../observability/index.ts';

export interface ContainmentConfig {
  enabled: boolean;
  minRecipientsPerHour: number;
  baselineFactor: number;
  baselineDays: number;
  maxDomainsPerHour: number;
  maxNetworksPerHour: number;
  /** Deferred and failed attempts per attempt in the hour above which (with minOutcomes) it trips. */
  maxFailureRatio: number;
  minOutcomes: number;
  /** Messages held or refused by the scanner in the hour at which it trips. */
  maxSpamPerHour: number;
}

export interface ContainmentDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: ContainmentConfig;
  /** Queues the notices (customer contact, postmaster) about a mailbox or site put on hold. */
  notify(held: { kind: 'mailbox' | 'site'; name: string; customerId: number; customerName: string }, reason: string): Promise<void>;
  /** Each mailbox or site put on hold is counted (postern_holds_total). */
  metrics?: Metrics;
}

export interface Containment {
  observeLogin(mailbox: Mailbox, ip: string): Promise<void>;
  observeMessage(mailboxAddress: string): Promise<void>;
  /** A message of the mailbox that the scanner held or refused as spam. */
  observeSpam(mailboxAddress: string): Promise<void>;
  /** A message of the site that the scanner held or refused as spam (the one signal sites have). */
  observeSiteSpam(siteId: number): Promise<void>;
}

const HOUR = 3_600_000;

/** The network of an address: /24 for IPv4, /48 for IPv6. */
export const networkOf = (ip: string): string => ipNetwork(ip, 3, 3);

export function createContainment(deps: ContainmentDeps): Containment {
  const c = deps.config;

  async function reasons(m: Mailbox, hour: number): Promise<string[]> {
    const h = await deps.store.activity.hour(m.id, hour);
    const out: string[] = [];
    if (h.recipients > c.minRecipientsPerHour) {
      const baseline = await deps.store.activity.averageRecipients(m.id, hour - c.baselineDays * 24 * HOUR, hour);
      const ceiling = Math.max(c.minRecipientsPerHour, c.baselineFactor * baseline);
      if (h.recipients > ceiling) out.push(`${h.recipients} recipients this hour, against a usual ${baseline.toFixed(1)} an hour`);
    }
    if (h.domains > c.maxDomainsPerHour) out.push(`${h.domains} recipient domains this hour`);
    if (h.networks > c.maxNetworksPerHour) out.push(`logins from ${h.networks} networks this hour`);
    const outcomes = h.delivered + h.bad;
    if (outcomes >= c.minOutcomes && h.bad / outcomes > c.maxFailureRatio) {
      out.push(`${h.bad} of ${outcomes} delivery attempts this hour deferred or failed`);
    }
    if (h.spam >= c.maxSpamPerHour) out.push(`${h.spam} messages this hour held or refused as spam by the content scanner`);
    return out;
  }

  async function check(m: Mailbox): Promise<void> {
    if (!c.enabled || m.heldSince !== null) return;
    const now = deps.clock.now();
    const hour = now - (now % HOUR);
    // a release by the postmaster forgives what this hour showed so far
    if (m.releasedAt !== null && m.releasedAt >= hour) return;
    const found = await reasons(m, hour);
    if (!found.length) return;
    const reason = found.join('; ');
    if (!(await deps.store.mailboxes.hold(m.id, reason, now))) return; // held meanwhile: notified once
    deps.metrics?.holds.inc({ kind: 'mailbox', reason: 'contain' });
    deps.logger.warn(
      { evt: 'contain', mailbox: m.address, customer: m.customerName, reason },
      'mailbox put on hold: signs of a compromised account',
    );
    await deps.notify({ kind: 'mailbox', name: m.address, customerId: m.customerId, customerName: m.customerName }, reason);
  }

  const guard = (what: string) => (err: Error) =>
    deps.logger.error({ evt: 'contain', err: err.message }, `containment check after ${what} failed`);

  return {
    async observeLogin(m, ip) {
      const now = deps.clock.now();
      await deps.store.activity
        .loginFrom(m.id, networkOf(ip), now - (now % HOUR))
        .then(() => check(m))
        .catch(guard('a login'));
    },
    async observeMessage(address) {
      if (!c.enabled) return; // nothing to check: no store read on every message
      await deps.store.mailboxes
        .get(address)
        .then((m) => (m ? check(m) : undefined))
        .catch(guard('a message'));
    },
    async observeSiteSpam(siteId) {
      const now = deps.clock.now();
      const hour = now - (now % HOUR);
      await (async () => {
        const count = await deps.store.sites.spam(siteId, hour);
        if (!c.enabled || count < c.maxSpamPerHour) return;
        const site = await deps.store.sites.byId(siteId);
        if (!site || site.heldSince !== null || (site.releasedAt !== null && site.releasedAt >= hour)) return;
        const reason = `${count} messages this hour held or refused as spam by the content scanner`;
        if (!(await deps.store.sites.hold(site.id, reason, now))) return;
        deps.metrics?.holds.inc({ kind: 'site', reason: 'contain' });
        deps.logger.warn({ evt: 'contain', site: site.name, customer: site.customerName, reason }, 'site put on hold: signs of misuse');
        await deps.notify({ kind: 'site', name: site.name, customerId: site.customerId, customerName: site.customerName }, reason);
      })().catch(guard('a spam verdict of a site'));
    },
    async observeSpam(address) {
      const now = deps.clock.now();
      await deps.store.mailboxes
        .get(address)
        .then(async (m) => {
          if (!m) return;
          await deps.store.activity.spam(m.id, now - (now % HOUR));
          await check(m);
        })
        .catch(guard('a spam verdict'));
    },
  };
}
