/**
 * Control characters in what a client typed: C0 characters other than tab, CR and LF, and DEL.
 * NUL above all: PostgreSQL refuses it in text, so a NUL that reached a query would look like a
 * store failure. The web surfaces refuse such input up front with a precise answer.
 */
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const ENCODED_CONTROL = /%(0[0-8bcef]|1[0-9a-f]|7f)/i;

/** A string with a control character (tab, CR and LF allowed). */
export const hasControl = (s: string): boolean => CONTROL.test(s);

/** A URL (path or query) with a percent-encoded control character (a raw URL cannot carry them otherwise). */
export const urlHasControl = (url: string): boolean => ENCODED_CONTROL.test(url);

/** Any string inside a parsed JSON value (keys included) with a control character. */
export function jsonHasControl(v: unknown): boolean {
  if (typeof v === 'string') return CONTROL.test(v);
  if (Array.isArray(v)) return v.some(jsonHasControl);
  if (v && typeof v === 'object') return Object.entries(v).some(([k, x]) => CONTROL.test(k) || jsonHasControl(x));
  return false;
}
