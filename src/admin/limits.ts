/**
 * Sending limits, for the admin service: set, show (with the current usage of the window now
 * running) and clear. Levels, windows, metrics and actions are validated, and a named target
 * must exist (a customer name, a hosted domain, a mailbox or a site); '*' is the default for each.
 */
import { addressKey, normalizeDomain } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { ACTIONS, LEVELS, METRICS, WINDOWS, type LimitAction, type LimitLevel, type LimitMetric, type LimitRule, type LimitWindow } from '../limits/index.ts';
import { AdminError } from './errors.ts';

export interface LimitInput { window: string; messages?: string | number; recipients?: string | number; action?: string }

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
  async function where(levelInput: string, targetInput: string | undefined): Promise<{ level: LimitLevel; target: string }> {
    const level = oneOf(LEVELS, levelInput, 'the level');
    if (level === 'server') {
      if (targetInput && targetInput !== '*') throw new AdminError('a server limit has no target');
      return { level, target: '*' };
    }
    if (!targetInput || targetInput === '*') return { level, target: '*' };
    if (level === 'customer') {
      if (!(await store.customers.get(targetInput))) throw new AdminError(`no customer named ${targetInput}`);
      return { level, target: targetInput };
    }
    if (level === 'domain') {
      const d = normalizeDomain(targetInput);
      if (!d || !(await store.domains.get(d))) throw new AdminError(`no hosted domain ${targetInput}`);
      return { level, target: d };
    }
    if (level === 'site') {
      if (!(await store.sites.get(targetInput))) throw new AdminError(`no site named ${targetInput}`);
      return { level, target: targetInput };
    }
    const key = addressKey(targetInput);
    if (!key || !(await store.mailboxes.get(key))) throw new AdminError(`no mailbox ${targetInput}`);
    return { level, target: key };
  }

  return {
    async setLimit(levelInput: string, targetInput: string | undefined, input: LimitInput): Promise<LimitRule[]> {
      const at = await where(levelInput, targetInput);
      const window = oneOf(WINDOWS, input.window, 'the window');
      const action = oneOf(ACTIONS, input.action ?? 'defer', 'the action');
      const rules: LimitRule[] = [];
      if (input.messages !== undefined) rules.push({ ...at, window, metric: 'messages', max: count(input.messages, '--messages'), action });
      if (input.recipients !== undefined) rules.push({ ...at, window, metric: 'recipients', max: count(input.recipients, '--recipients'), action });
      if (!rules.length) throw new AdminError('give --messages N, --recipients N or both');
      for (const r of rules) await store.limits.set(r);
      return rules;
    },
    /** Rules (for one target: the ones that apply to it) with the usage of the running window. */
    async showLimits(levelInput?: string, targetInput?: string) {
      const at = levelInput ? await where(levelInput, targetInput) : null;
      const rules = await store.limits.list(at ? { level: at.level, ...(at.target !== '*' ? { target: at.target } : {}) } : {});
      const t = now();
      return Promise.all(rules.map(async (r) => {
        const counted = r.level === 'server' ? '*' : r.target !== '*' ? r.target : at && at.target !== '*' ? at.target : null;
        const u = counted ? await store.limits.usage(r.level, counted, r.window, t) : null;
        return { ...r, usage: u ? (r.metric === 'messages' ? u.messages : u.recipients) : null, windowStart: u?.start ?? null };
      }));
    },
    async clearLimit(levelInput: string, targetInput: string | undefined, o: { window?: string; metric?: string } = {}): Promise<number> {
      const at = await where(levelInput, targetInput);
      const window = o.window === undefined ? undefined : oneOf(WINDOWS, o.window, 'the window') as LimitWindow;
      const metric = o.metric === undefined ? undefined : oneOf(METRICS, o.metric, 'the metric') as LimitMetric;
      const n = await store.limits.clear({ ...at, window, metric });
      if (!n) throw new AdminError(`no ${at.level} limit${at.target === '*' ? '' : ` for ${at.target}`} matches`);
      return n;
    },
  };
}

export type { LimitAction };
