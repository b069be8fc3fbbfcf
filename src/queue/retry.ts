/**
 * What an attempt's outcome means for a recipient: its next state and due time (the retry
 * schedule is data, from the configuration), expiry, and which notice its sender is owed
 * (failure, delay warning, success) under RFC 3461 NOTIFY. Pure: no I/O, no clock of its own.
 */
import type { DeliveryJob, RecipientUpdate } from '../core/index.ts';

export interface RetryPolicy {
  /** Minutes before the 1st, 2nd, ... retry; the last one repeats. */
  retryMinutes: number[];
  expireMs: number;
  /** 0: never warn. */
  delayWarningMs: number;
}

export interface Outcome {
  outcome: 'delivered' | 'deferred' | 'failed';
  category: string;
  reply: string;
  remoteHost: string | null;
  /** The next hop offered DSN and took the NOTIFY request over (no success report from us). */
  dsnPassedOn?: boolean;
}

export type Notice = 'failure' | 'delay' | 'success';

export interface Decision {
  update: RecipientUpdate;
  notice: Notice | null;
  /** The enhanced status for a notice (from the reply, or 4.4.7 on expiry). */
  status: string;
  expired: boolean;
}

const MINUTE = 60_000;

/** The retry policy of a configuration's delivery settings. */
export function retryPolicyOf(config: {
  delivery: { retryMinutes: number[]; expireDays: number; delayWarningHours: number };
}): RetryPolicy {
  return {
    retryMinutes: config.delivery.retryMinutes,
    expireMs: config.delivery.expireDays * 86_400_000,
    delayWarningMs: config.delivery.delayWarningHours * 3_600_000,
  };
}

export function retryDelayMs(policy: RetryPolicy, attempts: number): number {
  const list = policy.retryMinutes;
  return list[Math.min(Math.max(attempts, 1), list.length) - 1]! * MINUTE;
}

/** RFC 3461: no NOTIFY means failures (and, here, delays) are reported; NEVER means none. */
export function notifyAllows(notify: string | null, what: 'FAILURE' | 'DELAY' | 'SUCCESS'): boolean {
  if (!notify) return what !== 'SUCCESS';
  const set = notify
    .toUpperCase()
    .split(',')
    .map((s) => s.trim());
  return !set.includes('NEVER') && set.includes(what);
}

/** The enhanced status code in a reply ("550 5.1.1 ..."), or one made from its class. */
export function statusOfReply(reply: string, outcome: Outcome['outcome']): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  if (m) return m[1]!;
  return outcome === 'failed' ? '5.0.0' : outcome === 'delivered' ? '2.0.0' : '4.0.0';
}

export function decide(job: DeliveryJob, r: DeliveryJob['recipients'][number], o: Outcome, now: number, policy: RetryPolicy): Decision {
  const base = {
    messageId: job.message.id,
    idx: r.idx,
    at: now,
    reply: o.reply,
    category: o.category,
    remoteHost: o.remoteHost,
    attempted: true,
    lease: job.lease,
  };
  const status = statusOfReply(o.reply, o.outcome);
  if (o.outcome === 'delivered') {
    const notice = notifyAllows(r.notify, 'SUCCESS') && !o.dsnPassedOn ? 'success' : null;
    return { update: { ...base, state: 'delivered', nextAttemptAt: now }, notice, status, expired: false };
  }
  if (o.outcome === 'failed') {
    return {
      update: { ...base, state: 'failed', nextAttemptAt: now },
      notice: notifyAllows(r.notify, 'FAILURE') ? 'failure' : null,
      status,
      expired: false,
    };
  }
  const next = now + retryDelayMs(policy, r.attempts + 1);
  if (next > job.message.createdAt + policy.expireMs) {
    const days = Math.round((policy.expireMs / 86_400_000) * 10) / 10;
    const reply = `4.4.7 gave up after ${days} days in the queue; last reply: ${o.reply}`;
    return {
      update: { ...base, state: 'failed', nextAttemptAt: now, reply, category: 'expired' },
      notice: notifyAllows(r.notify, 'FAILURE') ? 'failure' : null,
      status: '4.4.7',
      expired: true,
    };
  }
  const warn =
    policy.delayWarningMs > 0 &&
    !r.delayNotified &&
    now - job.message.createdAt >= policy.delayWarningMs &&
    notifyAllows(r.notify, 'DELAY');
  return {
    update: { ...base, state: 'deferred', nextAttemptAt: next, ...(warn ? { delayNotified: true } : {}) },
    notice: warn ? 'delay' : null,
    status,
    expired: false,
  };
}
