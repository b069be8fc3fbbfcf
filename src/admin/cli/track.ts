/**
 * `postern track search|show|stats`: message tracking, where is my mail? Thin on purpose: the
 * admin service (admin/tracking.ts) validates and reads; this file parses flags and prints.
 */
import type { Command } from 'commander';
import type { TrackEvent, TrackedMessage } from '../../core/index.ts';
import { publicEvent, publicTracked } from '../tracking.ts';
import type { AdminService } from '../service.ts';
import { table, isoSec, bytes, type Io, jsonText } from './output.ts';

/** The customer of a tracked message, or the tenant it came from when that was removed since. */
const customerOf = (m: TrackedMessage) => m.customerName ?? (m.removedTenant ? `(removed: ${m.removedTenant})` : '-');

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

interface SearchOptions {
  id?: string;
  messageId?: string;
  sender?: string;
  recipient?: string;
  customer?: string;
  since?: string;
  until?: string;
  status?: string;
  limit: string;
  before?: string;
  json?: boolean;
}

const clipped = (s: string | null, n: number) => (s === null ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s);

function searchRows(messages: TrackedMessage[]): Record<string, unknown>[] {
  return messages.map((m) => ({
    time: isoSec(m.createdAt),
    id: m.queueId,
    status: m.status,
    customer: customerOf(m),
    sender: m.sender || '<>',
    recipients: m.recipients.length > 1 ? `${m.recipients[0]} +${m.recipients.length - 1}` : (m.recipients[0] ?? ''),
    subject: clipped(m.subject, 40),
  }));
}

function headerLines(m: TrackedMessage): string[] {
  const fields: [string, string][] = [
    ['message', m.queueId],
    ['status', m.status],
    ['customer', customerOf(m)],
    ['sent by', m.siteName ? `site ${m.siteName}` : (m.authUser ?? '-')],
    ['sender', m.sender || '<> (null sender)'],
    ['recipients', m.recipients.join(', ')],
    ['message-id', m.messageId ?? '-'],
    ['subject', m.subject ?? '-'],
    ['client', `${m.clientIp} on listener ${m.listener}`],
    ['arrived', isoSec(m.createdAt)],
    ['size', `${bytes(m.size)} (${m.size} bytes)`],
  ];
  return fields.map(([k, v]) => `${k.padEnd(11)} ${v}`);
}

/** What an event says, in one cell: the reply, a category, or the bounce sent. */
function whatOf(e: TrackEvent): string {
  if (e.type === 'bounced') return `bounce (DSN) queued as ${e.ref}`;
  if (e.type === 'notified') return `${e.category} notice (DSN) queued as ${e.ref}`;
  if (e.type === 'accepted') return `on listener ${e.category}`;
  const text = e.reply ?? '';
  return e.type === 'held' && e.category ? `${text} (${e.category})` : text;
}

function timeline(events: TrackEvent[]): string {
  const rows = events.map((e) => ({
    time: isoSec(e.at),
    event: e.type,
    recipient: e.recipient ?? '',
    remote: e.remoteHost ?? '',
    reply: whatOf(e),
  }));
  return `events\n${table(rows, ['time', 'event', 'recipient', 'remote', 'reply'])}`;
}

export function registerTrackCommands(program: Command, io: Io, withService: WithService): void {
  const track = program.command('track').description('message tracking: what happened to a message, also after it left the queue');
  track
    .command('search')
    .description('tracked messages, newest first')
    .option('--id <queueid>', 'this queue id')
    .option('--message-id <id>', 'this Message-ID header (angle brackets optional)')
    .option('--sender <address>', 'this envelope sender (<> for the null sender)')
    .option('--recipient <address>', 'one of its recipients')
    .option('--customer <name>', "this customer's messages")
    .option('--since <iso>', 'arrived at or after (2025-01-31 or 2025-01-31T14:00:00Z)')
    .option('--until <iso>', 'arrived before')
    .option('--status <status>', 'queued, held, deferred, delivered, failed, partial, cancelled, deleted or refused')
    .option('--limit <n>', 'at most this many', '50')
    .option('--before <cursor>', 'the next page: the cursor the previous page ended with')
    .option('--json', 'JSON output')
    .action((o: SearchOptions) =>
      withService(async (svc) => {
        const r = await svc.searchTracking({ ...o, limit: Number(o.limit) });
        if (o.json) return io.out(jsonText({ messages: r.messages.map(publicTracked), next: r.next }));
        io.out(table(searchRows(r.messages), ['time', 'id', 'status', 'customer', 'sender', 'recipients', 'subject']));
        if (r.next) io.out(`more: --before ${r.next}`);
      }),
    );
  track
    .command('show <queueid>')
    .description("one message's life: accepted, every attempt with its reply, delivered, deferred, bounced, held, released")
    .option('--json', 'JSON output')
    .action((id: string, o: { json?: boolean }) =>
      withService(async (svc) => {
        const m = await svc.showTracking(id);
        if (o.json) return io.out(jsonText({ ...publicTracked(m), events: m.events.map(publicEvent) }));
        io.out([...headerLines(m), '', timeline(m.events)].join('\n'));
      }),
    );
  track
    .command('stats')
    .description('how much tracking keeps: messages, events, estimated bytes, the oldest')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withService(async (svc) => {
        const s = await svc.trackingStats();
        if (o.json) return io.out(jsonText({ ...s, oldest: s.oldest === null ? null : new Date(s.oldest).toISOString() }));
        io.out(`${s.messages} messages, ${s.events} events, about ${bytes(s.bytes)}; oldest ${s.oldest === null ? '-' : isoSec(s.oldest)}`);
      }),
    );
}
