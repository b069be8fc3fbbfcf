/**
 * Sender identity (header), checked at the end of DATA: every address in From, Sender and
 * Resent-From must be one the mailbox may send as (its own or granted), so an honest envelope
 * cannot carry a forged From. A refusal (550 5.7.1) names the first address not allowed,
 * never the allowed ones. A message without any From is left to the recipient's judgement
 * (RFC 5322 requires one, but refusing it here would only break odd scripts).
 */
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { senderAllowed, type Grant } from './sender.ts';
import { CONTINUE, reject, type Verdict } from './types.ts';

export interface HeaderSenders {
  /** Raw values of the header fields, as they appear (one entry per field). */
  from: string[];
  sender: string[];
  resentFrom: string[];
}

interface Parsed {
  address?: string;
  name?: string;
  group?: Parsed[];
}

/** Address-like words in a display name or comment ("bob@bank.example" <alice@...>). */
const ADDRESS_LIKE = /[^\s<>"(),;:]+@[^\s<>"(),;:]+/g;

/** Every address in the values (groups flattened); unparsable text yields what it can. */
export function headerAddresses(values: string[]): string[] {
  const out: string[] = [];
  const walk = (list: Parsed[]) => {
    for (const p of list) {
      if (p.group) walk(p.group);
      else if (p.address) out.push(p.address);
      // some readers take an address in the display name for the sender: it must pass too
      for (const m of (p.name ?? '').match(ADDRESS_LIKE) ?? []) out.push(m.replace(/^[^\w]+|[^\w.-]+$/g, ''));
    }
  };
  for (const v of values) walk(addressparser(v) as Parsed[]);
  return out;
}

/** `own`: the mailbox's address (null for a site, which has grants only). */
export function checkHeaderSenders(own: string | null, grants: readonly Grant[], h: HeaderSenders, who = 'this login'): Verdict {
  const fields: [string, string[]][] = [
    ['From', h.from],
    ['Sender', h.sender],
    ['Resent-From', h.resentFrom],
  ];
  for (const [name, values] of fields) {
    for (const address of headerAddresses(values)) {
      if (!senderAllowed(own, grants, address)) {
        return reject(
          550,
          '5.7.1',
          `${name}: <${address.replace(/[^\x21-\x7e\u0080-\uffff]/g, '').slice(0, 254)}> is not an address ${who} may send as`,
        );
      }
    }
  }
  return CONTINUE;
}
