/**
 * Limit windows: fixed, calendar-aligned in UTC. A message at time t counts in the window that
 * starts at floor(t) (the minute, hour, day or month it falls in); at the first millisecond of
 * the next window the count starts from zero. Fixed windows make the boundary exact and easy
 * to explain ("at most 500 per clock hour"); the cost, a burst of twice the limit around a
 * boundary, is bounded and accepted.
 */
export const WINDOWS = ['minute', 'hour', 'day', 'month'] as const;
export type LimitWindow = (typeof WINDOWS)[number];

export function windowStart(w: LimitWindow, t: number): number {
  const d = new Date(t);
  switch (w) {
    case 'minute':
      return t - (t % 60_000);
    case 'hour':
      return t - (t % 3_600_000);
    case 'day':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
}

export function windowEnd(w: LimitWindow, t: number): number {
  const d = new Date(windowStart(w, t));
  switch (w) {
    case 'minute':
      return d.getTime() + 60_000;
    case 'hour':
      return d.getTime() + 3_600_000;
    case 'day':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
}
