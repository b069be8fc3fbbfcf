/**
 * Suppressed recipients at RCPT: an address that hard-bounced for the sender's customer (or that
 * an operator listed) is refused with 550 5.1.1, saying when it bounced, what the remote server
 * said (at most 200 characters, control characters stripped) and how to lift it; one line of
 * about 400 characters at most. The entry is looked up by the caller (store); this decides.
 */
import type { Suppression } from '../core/index.ts';
import { CONTINUE, reject, type Verdict } from './types.ts';

/** Most characters of the remote reply quoted back. */
export const MAX_QUOTED = 200;
/** The reply text stays within this (the address is cut first, then the quote). */
const MAX_TEXT = 400;

/** Printable ASCII on one line: controls become spaces, other characters '?', quotes single. */
function clean(s: string): string {
  return s
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/"/g, "'")
    .replace(/ {2,}/g, ' ')
    .trim();
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 3))}...`;
}

/** The 550 5.1.1 text for a suppressed recipient. */
export function suppressedText(recipient: string, e: Pick<Suppression, 'reason' | 'source' | 'updatedAt'>): string {
  const address = cut(clean(recipient), 254);
  const when = new Date(e.updatedAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const what = e.source === 'bounce' ? `this address hard-bounced on ${when}` : `listed by the postmaster on ${when}`;
  const tail = '; remove it from the suppression list (postern suppression remove) if it works again';
  const fixed = `<${address}>: suppressed: ${what} ("")${tail}`.length;
  const quote = cut(clean(e.reason), Math.max(20, Math.min(MAX_QUOTED, MAX_TEXT - fixed)));
  return `<${address}>: suppressed: ${what} ("${quote}")${tail}`;
}

/** `entry`: the recipient's suppression for the sender's customer in force now, or null. */
export function checkSuppression(recipient: string, entry: Pick<Suppression, 'reason' | 'source' | 'updatedAt'> | null): Verdict {
  if (!entry) return CONTINUE;
  return reject(550, '5.1.1', suppressedText(recipient, entry));
}
