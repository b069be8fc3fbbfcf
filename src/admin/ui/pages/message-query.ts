/**
 * The message search form's query string, as the admin service's TrackSearchInput: dates typed
 * in the browser (type=date or datetime-local, taken as UTC) become ISO times, and the one
 * "search" box that takes anything (an address, a queue id, a Message-ID) becomes the list of
 * readings to try in order, the first that finds something wins. Pure; never throws (the
 * service validates what is left).
 */
import { addressKey, isQueueId } from '../../../core/index.ts';
import type { TrackSearchInput } from '../../tracking.ts';

/** The fields of the form (and of the paging links). */
export const QUERY_FIELDS = ['search', 'recipient', 'sender', 'messageId', 'id', 'status', 'customer', 'since', 'until', 'before'] as const;
export type MessageQuery = Partial<Record<(typeof QUERY_FIELDS)[number], string>>;

const MAX_FIELD = 1000;
const DAY_MS = 86_400_000;

/** The form's fields from a query string: trimmed, bounded, empty ones left out. */
export function readQuery(q: Record<string, string | undefined>): MessageQuery {
  const out: MessageQuery = {};
  for (const k of QUERY_FIELDS) {
    const v = (q[k] ?? '').trim().slice(0, MAX_FIELD);
    if (v) out[k] = v;
  }
  return out;
}

/**
 * A date or local time from the browser as an ISO time (UTC): "2025-03-01" is that day's start
 * (as `since`) or the next day's start (as `until`: the day is included); "2025-03-01T14:30" is
 * that minute. Anything else is passed on for the service to refuse with its own words.
 */
export function isoOf(v: string | undefined, end = false): string | undefined {
  if (!v) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const t = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(t) ? v : new Date(end ? t + DAY_MS : t).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(v)) {
    const t = Date.parse(`${v}Z`);
    return Number.isNaN(t) ? v : new Date(t).toISOString();
  }
  return v;
}

/** One way of reading the search box: what it is taken as, and the fields it sets. */
export interface Reading {
  /** "recipient", "sender", "Message-ID", "queue id". */
  as: string;
  fields: Pick<MessageQuery, 'recipient' | 'sender' | 'messageId' | 'id'>;
}

/**
 * The readings of what was typed in the search box, most likely first (an address as its
 * canonical key, the domain and local part in lower case): "<x@y>" a Message-ID (then the address inside it as recipient and sender); an address the
 * recipient, then the sender, then a Message-ID without its brackets; a queue id (20 letters
 * and digits) the queue id; other text with an @ a Message-ID. Nothing else is guessed (an
 * empty list: the page says what it understands).
 */
export function readingsOf(search: string | undefined): Reading[] {
  const s = (search ?? '').trim();
  if (!s || /\s/.test(s)) return [];
  const asAddress = (a: string): Reading[] => [
    { as: 'recipient', fields: { recipient: a } },
    { as: 'sender', fields: { sender: a } },
  ];
  const bracketed = /^<([^<>]+)>$/.exec(s);
  if (bracketed) {
    const inside = addressKey(bracketed[1]!);
    return [{ as: 'Message-ID', fields: { messageId: s } }, ...(inside ? asAddress(inside) : [])];
  }
  if (s.includes('<') || s.includes('>')) return [];
  if (isQueueId(s)) return [{ as: 'queue id', fields: { id: s } }];
  if (!s.includes('@')) return [];
  const address = addressKey(s);
  if (address) return [...asAddress(address), { as: 'Message-ID', fields: { messageId: `<${s}>` } }];
  return [{ as: 'Message-ID', fields: { messageId: `<${s}>` } }];
}

/** The service's input for the form's explicit fields (the search box is read separately). */
export function inputOf(q: MessageQuery, o: { limit: number; authUser?: string; operator: boolean }): TrackSearchInput {
  return {
    recipient: q.recipient,
    sender: q.sender,
    messageId: q.messageId,
    id: q.id,
    status: q.status,
    customer: o.operator ? q.customer : undefined,
    since: isoOf(q.since),
    until: isoOf(q.until, true),
    before: q.before,
    limit: o.limit,
    authUser: o.authUser,
  };
}
