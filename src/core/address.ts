/** Mail addresses: parsing, normalising and the domain part. Pure functions, no I/O. */
import { domainToASCII } from 'node:url';

export interface Address {
  local: string;
  domain: string; // lower-case, A-label (punycode) form
}

const LOCAL_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+)*$/;
const QUOTED_LOCAL = /^"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;

const PLAIN_ASCII = /^[a-z0-9.-]*\.[a-z][a-z0-9-]*$/;

/** Normalises a domain to lower-case A-labels, or returns null when it is not a valid host name. */
export function normalizeDomain(input: string): string | null {
  const trimmed = input.trim().replace(/\.$/, '');
  if (!trimmed || trimmed.length > 253) return null;
  const lower = trimmed.toLowerCase();
  // the usual case (letters, digits, dots and hyphens, no A-label, a last label that starts with a
  // letter, so no IPv4 number form) is its own ASCII form: domainToASCII only for the rest
  const ascii = PLAIN_ASCII.test(lower) && !lower.includes('xn--') ? lower : domainToASCII(lower);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2) return null;
  for (const label of labels) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label)) return null;
  }
  return ascii;
}

/** Parses "local@domain"; returns null when either part is invalid. */
export function parseAddress(input: string): Address | null {
  const at = input.lastIndexOf('@');
  if (at <= 0 || at === input.length - 1) return null;
  const local = input.slice(0, at);
  const domain = normalizeDomain(input.slice(at + 1));
  if (!domain) return null;
  if (local.length > 64) return null;
  if (!LOCAL_ATOM.test(local) && !QUOTED_LOCAL.test(local)) return null;
  return { local, domain };
}

/** The canonical string used as a key: local part as given, domain lower-case A-label. */
export function formatAddress(a: Address): string {
  return `${a.local}@${a.domain}`;
}

/** Canonical key for comparing addresses: the whole address lower-cased (local parts are
 *  treated case-insensitively, as every mainstream mailbox provider does). */
export function addressKey(input: string): string | null {
  const a = parseAddress(input);
  return a ? `${a.local.toLowerCase()}@${a.domain}` : null;
}

export function domainOf(input: string): string | null {
  return parseAddress(input)?.domain ?? null;
}
