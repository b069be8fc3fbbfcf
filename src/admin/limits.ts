/**
 * Sending limits, for the admin service: set, show (with the current usage of the window now
 * running) and clear. Levels, windows, metrics and actions are validated, and a named target
 * must exist (a customer name, a hosted domain, a mailbox or a site); '*' is the default for each.
 */
import { addressKey, normalizeDomain } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import {
  ACTIONS,
  LEVELS,
  METRICS,
  WINDOWS,
  type LimitAction,
  type LimitLevel,
  type LimitMetric,
  type LimitRule,
  type LimitWindow,
} from '../limits/index.ts';
import { AdminError, missing, sees, type TenantScope } from './errors.ts';
import { audit, read, LIMITS, type Declarations } from './audit.ts';

export interface LimitInput {
  window: string;
  messages?: string | number;
  recipients?: string | number;
  action?: string;
}

const oneOf = <T extends string>(list: readonly T[], value: string, what: string): T => {
  if (!(list as readonly string[]).includes(value)) throw new AdminError(`${what} must be one of ${list.join(', ')}: ${value}`);
  return value as T;
};

function count(value: string | number, what: string): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new AdminError(`${what} must be a whole number of 0 or more: ${value}`);
  return n;
}

export function createLimitService(store: Store, now: () => number) {
  /** The level and the canonical target ('*' or an existing customer / domain / mailbox). */
  async function where(
    levelInput: string,
    targetInput: string | undefined,
    scope?: TenantScope,
  ): Promise<{ level: LimitLevel; target: string }> {
    const level = oneOf(LEVELS, levelInput, 'the level');
    if (level === 'server') {
      if (targetInput && targetInput !== '*') throw new AdminError('a server limit has no target');
      return { level, target: '*' };
    }
    if (!targetInput || targetInput === '*') return { level, target: '*' };
    if (level === 'customer') {
      const c = await store.customers.get(targetInput);
      if (!c || !sees(scope, c.id)) throw missing(`no customer named ${targetInput}`);
      return { level, target: targetInput };
    }
    if (level === 'domain') {
      const d = normalizeDomain(targetInput);
      const domain = d ? await store.domains.get(d) : null;
      if (!d || !domain || !sees(scope, domain.customerId)) throw missing(`no hosted domain ${targetInput}`);
      return { level, target: d };
    }
    if (level === 'site') {
      const site = await store.sites.get(targetInput);
      if (!site || !sees(scope, site.customerId)) throw missing(`no site named ${targetInput}`);
      return { level, target: targetInput };
    }
    const key = addressKey(targetInput);
    const m = key ? await store.mailboxes.get(key) : null;
    if (!key || !m || !sees(scope, m.customerId)) throw missing(`no mailbox ${targetInput}`);
    return { level, target: key };
  }

  /** The rules a customer's scope sees: the defaults ('*') and its own targets, no server rules. */
  async function ownRules(rules: LimitRule[], scope: TenantScope): Promise<LimitRule[]> {
    const owner = async (r: LimitRule): Promise<number | null> => {
      if (r.level === 'customer') return (await store.customers.get(r.target))?.id ?? null;
      if (r.level === 'domain') return (await store.domains.get(r.target))?.customerId ?? null;
      if (r.level === 'site') return (await store.sites.get(r.target))?.customerId ?? null;
      return (await store.mailboxes.get(r.target))?.customerId ?? null;
    };
    const out: LimitRule[] = [];
    for (const r of rules) {
      if (r.level === 'server') continue;
      if (r.target === '*' || (await owner(r)) === scope.customerId) out.push(r);
    }
    return out;
  }

  return {
    async setLimit(levelInput: string, targetInput: string | undefined, input: LimitInput): Promise<LimitRule[]> {
      const at = await where(levelInput, targetInput);
      const window = oneOf(WINDOWS, input.window, 'the window');
      const action = oneOf(ACTIONS, input.action ?? 'defer', 'the action');
      const rules: LimitRule[] = [];
      if (input.messages !== undefined) rules.push({ ...at, window, metric: 'messages', max: count(input.messages, '--messages'), action });
      if (input.recipients !== undefined)
        rules.push({ ...at, window, metric: 'recipients', max: count(input.recipients, '--recipients'), action });
      if (!rules.length) throw new AdminError('give --messages N, --recipients N or both');
      for (const r of rules) await store.limits.set(r);
      return rules;
    },
    /**
     * Rules (for one target: the ones that apply to it) with the usage of the running window. A
     * customer's scope sees the defaults ('*') and the rules of its own customer, domains,
     * mailboxes and sites, never the server's (its usage is everyone's).
     */
    async showLimits(levelInput?: string, targetInput?: string, scope?: TenantScope) {
      if (scope && levelInput === 'server') throw missing('no server limits for a customer');
      const at = levelInput ? await where(levelInput, targetInput, scope) : null;
      const all = await store.limits.list(at ? { level: at.level, ...(at.target !== '*' ? { target: at.target } : {}) } : {});
      const rules = scope ? await ownRules(all, scope) : all;
      const t = now();
      return Promise.all(
        rules.map(async (r) => {
          const counted = r.level === 'server' ? '*' : r.target !== '*' ? r.target : at && at.target !== '*' ? at.target : null;
          const u = counted ? await store.limits.usage(r.level, counted, r.window, t) : null;
          return { ...r, usage: u ? (r.metric === 'messages' ? u.messages : u.recipients) : null, windowStart: u?.start ?? null };
        }),
      );
    },
    async clearLimit(levelInput: string, targetInput: string | undefined, o: { window?: string; metric?: string } = {}): Promise<number> {
      const at = await where(levelInput, targetInput);
      const window = o.window === undefined ? undefined : (oneOf(WINDOWS, o.window, 'the window') as LimitWindow);
      const metric = o.metric === undefined ? undefined : (oneOf(METRICS, o.metric, 'the metric') as LimitMetric);
      const n = await store.limits.clear({ ...at, window, metric });
      if (!n) throw missing(`no ${at.level} limit${at.target === '*' ? '' : ` for ${at.target}`} matches`);
      return n;
    },
  };
}

/** What the audit trail records of each limit operation. */
export const limitOperations = {
  setLimit: audit('setLimit', LIMITS),
  showLimits: read,
  clearLimit: audit('clearLimit', LIMITS),
} satisfies Declarations<ReturnType<typeof createLimitService>>;

export type { LimitAction };
