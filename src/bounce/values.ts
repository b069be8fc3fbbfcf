/** Turning outside values (remote replies, host names, addresses) into safe one-line field values. */

import type { DsnRecipient } from './dsn.ts';

export const CRLF = '\r\n';
/** Width the human-readable part is wrapped to. */
export const WRAP = 76;
/** One field value, before folding (a line stays far below 998 octets). */
export const MAX_VALUE_BYTES = 900;

/** One line: control characters (CR, LF, TAB, C1, U+2028/9) become spaces, runs collapse, cut. */
export function clean(value: string | null | undefined): string {
  if (!value) return '';
  const line = value
    .replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return truncate(line, MAX_VALUE_BYTES);
}

export function truncate(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value, 'utf8') <= maxBytes) return value;
  let bytes = 0;
  let out = '';
  for (const ch of value) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > maxBytes - 3) break;
    out += ch;
  }
  return `${out}...`;
}

export function asciiOnly(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, '?');
}

export function cleanAddress(value: string): string {
  return clean(value)
    .replace(/[<>\s]/g, '')
    .slice(0, 320);
}

/** A host name or address literal: its first word, reduced to the characters hosts use. */
export function cleanHost(value: string): string {
  return clean(value)
    .split(' ')[0]!
    .replace(/[^A-Za-z0-9.:_[\]-]/g, '')
    .slice(0, 255);
}

export function validDate(d: Date | null | undefined): d is Date {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

/** The recipient's status code, or the generic one for its action when it is not valid. */
export function statusOf(r: DsnRecipient): string {
  const s = r.status.trim();
  if (/^[245]\.\d{1,3}\.\d{1,3}$/.test(s)) return s;
  return r.action === 'failed' ? '5.0.0' : r.action === 'delayed' ? '4.0.0' : '2.0.0';
}

/** "type; address": a value that already names its type ("rfc822;a@b") is kept as given. */
export function typedAddress(value: string): string {
  const v = clean(value);
  if (/^[A-Za-z0-9-]+\s*;/.test(v)) return v;
  return `${/[^\x00-\x7f]/.test(v) ? 'utf-8' : 'rfc822'}; ${v}`;
}
