/** When a failed webhook delivery is tried again: the schedule (data) with jitter, or the endpoint's Retry-After. */

/** Longest Retry-After honoured. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * The wait before the next attempt after `failed` failed attempts (1 for the first failure):
 * scheduleSeconds[failed - 1], the last entry repeating, times a jitter factor in [0.8, 1.2).
 */
export function backoffMs(failed: number, scheduleSeconds: readonly number[], random: () => number = Math.random): number {
  const base = scheduleSeconds[Math.min(Math.max(failed, 1), scheduleSeconds.length) - 1]! * 1000;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** A Retry-After value (seconds, or an HTTP date) as a wait in ms, capped at a day; null when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  // an HTTP date names its day and month ("Wed, 21 Oct 2015 07:28:00 GMT"); "-5" is no date
  const at = /^[A-Za-z]{3}, /.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER_MS);
}
