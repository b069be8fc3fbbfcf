/**
 * Limits as data: a rule caps messages or recipients per window at one level (server,
 * customer, domain, mailbox, site) with an action when exceeded. Target '*' below server level
 * is the default for each of them (each counted on its own); a rule naming the target
 * replaces the default of the same window and metric. A message counts at the mailbox level
 * (SMTP AUTH, the send API with a login) or at the site level (sendmail, the send API with a
 * site token), never both. Pure: deciding is separate from
 * counting, which the store does atomically with the enqueue.
 */
import type { LimitScope } from '../core/index.ts';
import { windowEnd, windowStart, type LimitWindow } from './windows.ts';

export const LEVELS = ['server', 'customer', 'domain', 'mailbox', 'site'] as const;
export type LimitLevel = (typeof LEVELS)[number];
export const METRICS = ['messages', 'recipients'] as const;
export type LimitMetric = (typeof METRICS)[number];
export const ACTIONS = ['defer', 'reject', 'hold'] as const;
export type LimitAction = (typeof ACTIONS)[number];

export interface LimitRule {
  level: LimitLevel;
  target: string; // '*' or the customer name / domain / mailbox address / site name (server: always '*')
  window: LimitWindow;
  metric: LimitMetric;
  max: number;
  action: LimitAction;
}

/** A rule applied to one message: the counter it uses (level, counted target, window start). */
export interface AppliedRule {
  rule: LimitRule;
  counter: { level: LimitLevel; target: string; window: LimitWindow; start: number };
  end: number;
}

const SEVERITY: Record<LimitAction, number> = { hold: 1, defer: 2, reject: 3 };

export function applicable(rules: readonly LimitRule[], scope: LimitScope, now: number): AppliedRule[] {
  const own: Record<LimitLevel, string | undefined> = {
    server: '*',
    customer: scope.customer,
    domain: scope.domain,
    mailbox: scope.mailbox,
    site: scope.site,
  };
  const chosen = new Map<string, LimitRule>();
  for (const r of rules) {
    const mine = own[r.level];
    if (mine === undefined || (r.target !== '*' && r.target !== mine)) continue;
    const slot = `${r.level}|${r.window}|${r.metric}`;
    const prev = chosen.get(slot);
    if (!prev || (prev.target === '*' && r.target !== '*')) chosen.set(slot, r);
  }
  return [...chosen.values()].map((rule) => ({
    rule,
    counter: { level: rule.level, target: own[rule.level]!, window: rule.window, start: windowStart(rule.window, now) },
    end: windowEnd(rule.window, now),
  }));
}

export interface Exceeded {
  rule: LimitRule;
  used: number;
  until: number;
}

/**
 * Which rules this message would break, given each counter's usage so far; `action` is the
 * most severe of their actions (reject > defer > hold), or null when the message may pass.
 */
export function decide(
  applied: readonly AppliedRule[],
  usage: (a: AppliedRule) => { messages: number; recipients: number },
  recipients: number,
): { action: LimitAction | null; exceeded: Exceeded[] } {
  const exceeded: Exceeded[] = [];
  for (const a of applied) {
    const u = usage(a);
    const used = a.rule.metric === 'messages' ? u.messages : u.recipients;
    const adds = a.rule.metric === 'messages' ? 1 : recipients;
    if (used + adds > a.rule.max) exceeded.push({ rule: a.rule, used, until: a.end });
  }
  const action = exceeded.reduce<LimitAction | null>(
    (acc, e) => (!acc || SEVERITY[e.rule.action] > SEVERITY[acc] ? e.rule.action : acc),
    null,
  );
  return { action, exceeded };
}

export function describeRule(r: LimitRule): string {
  const who = r.level === 'server' ? 'the server' : r.target === '*' ? `each ${r.level}` : `${r.level} ${r.target}`;
  return `${r.max} ${r.metric} per ${r.window} for ${who} (${r.action})`;
}
