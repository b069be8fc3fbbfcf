/**
 * `postern queue list|show|retry|hold|release|delete`: the operator's view of the queue and the
 * actions on it. Thin on purpose: the admin service validates and acts; this file parses the
 * command line and prints. Errors travel as AdminError / CliExit to the CLI's one-line report.
 */
import type { Command } from 'commander';
import type { AttemptRecord, QueuedMessage, QueuedRecipient } from '../../core/index.ts';
import type { AdminService, DeleteResult } from '../service.ts';

// the service module is loaded by withService before any of these runs
const service = () => import('../service.ts');
import { table, isoSec, duration, bytes, CliExit, type Io, jsonText } from './output.ts';
import { spoolRemover } from './spool.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

interface ListOptions {
  state?: string;
  domain?: string;
  sender?: string;
  customer?: string;
  site?: string;
  limit: string;
  json?: boolean;
}

const RECIPIENT_STATES = ['queued', 'deferred', 'delivered', 'failed'] as const;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const nodes = (rs: QueuedRecipient[]) => [...new Set(rs.map((r) => r.leaseOwner))].join(', ');

/** held / cancelled, or how many recipients are in each state: "1 deferred, 2 delivered". */
function stateSummary(m: QueuedMessage): string {
  if (m.state !== 'queued') return m.state;
  return RECIPIENT_STATES.map((s) => [s, m.recipients.filter((r) => r.state === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

function listRows(messages: QueuedMessage[], now: number): Record<string, unknown>[] {
  return messages.map((m) => ({
    id: m.id,
    arrived: isoSec(m.createdAt),
    age: duration(now - m.createdAt),
    sender: m.sender || '<>',
    size: bytes(m.size),
    state: stateSummary(m),
    recipients: (m.recipients[0]?.address ?? '') + (m.recipients.length > 1 ? ` +${m.recipients.length - 1}` : ''),
  }));
}

const HOLD_REASON = {
  limit: 'by a sending limit',
  sender: 'its mailbox or site is on hold',
  content: 'by the content scanner as spam',
  postmaster: 'by the postmaster',
  customer: 'its customer account is suspended',
} as const;

async function list(svc: AdminService, io: Io, o: ListOptions): Promise<void> {
  const limit = Number(o.limit);
  const messages = await svc.listQueue({ state: o.state, domain: o.domain, sender: o.sender, customer: o.customer, site: o.site, limit });
  if (o.json) {
    const { publicMessage } = await service();
    return io.out(jsonText(messages.map(publicMessage)));
  }
  const filtered = [o.state, o.domain, o.sender, o.customer, o.site].some((x) => x !== undefined);
  if (!messages.length) return io.out(filtered ? 'no message matches' : 'queue is empty');
  io.out(table(listRows(messages, Date.now()), ['id', 'arrived', 'age', 'sender', 'size', 'state', 'recipients']));
  io.out(
    messages.length === limit ? `${messages.length} message(s) shown: the --limit; there may be more` : `${messages.length} message(s)`,
  );
}

/** When a recipient is tried next, or null for final states. */
function nextAttempt(m: QueuedMessage, r: QueuedRecipient, now: number): string | null {
  if (r.state === 'delivered' || r.state === 'failed') return null;
  if (m.state === 'held') return r.leaseOwner ? `held (an attempt on ${r.leaseOwner} may still be running)` : 'held';
  if (r.leaseOwner && r.nextAttemptAt > now) return `in flight on ${r.leaseOwner} until ${isoSec(r.nextAttemptAt)}`;
  if (m.state === 'cancelled') return 'due now: the running server fails it and bounces it to the sender';
  if (r.nextAttemptAt <= now) return r.leaseOwner ? `due now (the lease of ${r.leaseOwner} ended ${isoSec(r.nextAttemptAt)})` : 'due now';
  return `${isoSec(r.nextAttemptAt)} (in ${duration(r.nextAttemptAt - now)})`;
}

function messageLines(m: QueuedMessage, now: number): string[] {
  const state = {
    queued: 'queued',
    held: `held: nothing is sent until postern queue release ${m.id}`,
    cancelled: 'cancelled: the running server fails the pending recipients and bounces them',
  }[m.state];
  const fields: [string, string][] = [
    ['message', m.id],
    ['state', m.holdReason ? `${state} (${HOLD_REASON[m.holdReason]})` : state],
    ['sender', m.sender || '<> (null sender)'],
    ['customer', m.customerName ?? '-'],
    ['auth user', m.authUser ?? '-'],
    ...(m.siteName ? [['site', m.siteName] as [string, string]] : []),
    ['client', `${m.clientIp} on listener ${m.listener}`],
    ['arrived', `${isoSec(m.createdAt)} (${duration(now - m.createdAt)} ago)`],
    ['size', `${bytes(m.size)} (${m.size} bytes)`],
    ['message-id', m.messageIdHeader ?? '-'],
  ];
  return fields.map(([k, v]) => `${k.padEnd(11)} ${v}`);
}

function recipientLines(m: QueuedMessage, r: QueuedRecipient, now: number): string[] {
  const out = [`recipient ${r.address}: ${r.state}, ${plural(r.attempts, 'attempt')}`];
  if (r.lastAttemptAt !== null)
    out.push(
      `  last attempt  ${isoSec(r.lastAttemptAt)} (${duration(now - r.lastAttemptAt)} ago)${r.remoteHost ? ` at ${r.remoteHost}` : ''}`,
    );
  if (r.lastReply) out.push(`  last reply    ${r.lastReply}`);
  const next = nextAttempt(m, r, now);
  if (next) out.push(`  next attempt  ${next}`);
  return out;
}

function attemptTable(m: QueuedMessage, attempts: AttemptRecord[]): string {
  if (!attempts.length) return 'attempts: none yet';
  const address = new Map(m.recipients.map((r) => [r.idx, r.address]));
  const rows = attempts.map((a) => ({
    time: isoSec(a.at),
    recipient: address.get(a.recipientIdx) ?? `#${a.recipientIdx}`,
    outcome: a.outcome,
    remote: a.remoteHost ?? '-',
    reply: a.reply,
  }));
  return `attempts\n${table(rows, ['time', 'recipient', 'outcome', 'remote', 'reply'])}`;
}

async function show(svc: AdminService, io: Io, id: string, json: boolean): Promise<void> {
  const { message: m, attempts } = await svc.showMessage(id);
  if (json) {
    const at = (ms: number) => new Date(ms).toISOString();
    const { publicMessage } = await service();
    return io.out(jsonText({ ...publicMessage(m), attempts: attempts.map((a) => ({ ...a, at: at(a.at) })) }));
  }
  const now = Date.now();
  io.out(
    [...messageLines(m, now), '', ...m.recipients.flatMap((r) => recipientLines(m, r, now)), '', attemptTable(m, attempts)].join('\n'),
  );
}

function deleteReport(r: DeleteResult): string[] {
  const { message: m, inFlight } = r;
  const out =
    r.outcome === 'cancelled'
      ? [`${m.id} cancelled: the running server bounces its ${r.bounced} pending recipient(s) to <${m.sender}>`]
      : [`${r.nullSender ? `${m.id} has the null sender: no bounce can be sent; ` : ''}deleted ${m.id}`];
  if (inFlight.length && r.outcome === 'cancelled') {
    out.push(
      `note: ${plural(inFlight.length, 'recipient')} in flight on ${nodes(inFlight)}: that attempt may still deliver; if not, they are bounced too`,
    );
  } else if (inFlight.length) {
    out.push(`note: ${plural(inFlight.length, 'recipient')} in flight on ${nodes(inFlight)}: that attempt may still deliver`);
  }
  if (r.bodyError) out.push(`note: its spool file could not be removed (${r.bodyError}); the server sweeps it at its next start`);
  return out;
}

export function registerQueueCommands(program: Command, io: Io, withService: WithService): void {
  const spoolRemove = spoolRemover(program);

  const hold = program.command('hold').description('mailboxes and sites on hold (suspected misuse) and held mail');
  hold
    .command('list')
    .description('held mailboxes and sites (since when, why, how much mail they kept back) and other held messages')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withService(async (svc) => {
        const r = await svc.listHolds();
        const since = (t: number | null) => (t ? new Date(t).toISOString() : null);
        const rows = r.mailboxes.map((x) => ({
          mailbox: x.mailbox.address,
          customer: x.mailbox.customerName,
          since: since(x.mailbox.heldSince),
          held: x.heldMessages,
          spam: x.heldSpam,
          reason: x.mailbox.holdReason,
        }));
        const sites = r.sites.map((x) => ({
          site: x.site.name,
          customer: x.site.customerName,
          since: since(x.site.heldSince),
          held: x.heldMessages,
          spam: x.heldSpam,
          reason: x.site.holdReason,
        }));
        if (o.json)
          return io.out(jsonText({ mailboxes: rows, sites, messages: r.messages.map((m) => ({ id: m.id, reason: m.holdReason })) }));
        io.out(rows.length ? table(rows, ['mailbox', 'customer', 'since', 'held', 'spam', 'reason']) : 'no mailbox is on hold');
        if (sites.length) io.out(table(sites, ['site', 'customer', 'since', 'held', 'spam', 'reason']));
        if (r.messages.length) io.out(`other held messages: ${r.messages.map((m) => m.id).join(' ')}`);
      }),
    );
  hold
    .command('release <target>')
    .description(
      'ADDRESS or site:NAME: end the hold and send the held mail (not what the content scanner held, unless --include-spam); ID: send one held message',
    )
    .option('--include-spam', 'also send what the content scanner held as spam')
    .action((target: string, o: { includeSpam?: boolean }) =>
      withService(async (svc) => {
        const r = await svc.releaseHold(target, { includeSpam: Boolean(o.includeSpam) });
        const who = r.mailbox?.address ?? (r.site ? `site ${r.site.name}` : null);
        const kept = r.keptSpam ? `; ${r.keptSpam} held as spam kept back (--include-spam sends them, hold purge deletes them)` : '';
        io.out(who ? `${who} released; ${r.released} held message(s) sent on${kept}` : `${target} released`);
      }),
    );
  hold
    .command('purge <target>')
    .description('ADDRESS or site:NAME: delete the mail it kept back (the hold stays until released)')
    .action((target: string) =>
      withService(async (svc) => io.out(`${await svc.purgeHold(target, spoolRemove)} held message(s) of ${target.toLowerCase()} deleted`)),
    );
  const queue = program.command('queue').description('the mail queue');
  queue
    .command('list')
    .description('list queued messages, oldest first')
    .option('--state <state>', 'queued, deferred, delivered, failed (a recipient in that state) or held')
    .option('--domain <domain>', 'a recipient at this domain')
    .option('--sender <address>', 'this envelope sender (<> for the null sender)')
    .option('--customer <name>', "this customer's messages")
    .option('--site <name>', 'messages sent by this site')
    .option('--limit <n>', 'at most this many', '1000')
    .option('--json', 'JSON output')
    .action((o: ListOptions) => withService((svc) => list(svc, io, o)));
  queue
    .command('show <id>')
    .description('one message: its recipients, why they wait, and every attempt')
    .option('--json', 'JSON output')
    .action((id: string, o: { json?: boolean }) => withService((svc) => show(svc, io, id, Boolean(o.json))));
  queue
    .command('retry [id]')
    .description('make the pending recipients of a message (or of all, --all) due now')
    .option('--all', 'every message that is not held')
    .action((id: string | undefined, o: { all?: boolean }) => {
      if (Boolean(id) === Boolean(o.all)) throw new CliExit(64, 'postern: queue retry: give either a message ID or --all');
      return withService(async (svc) => {
        const n = await svc.retryQueue(id ?? null);
        io.out(`${plural(n, 'recipient')} due now${n ? '' : ' (none was waiting: each is due already, in flight or final)'}`);
      });
    });
  queue
    .command('hold <id>')
    .description('keep a message from being sent until it is released')
    .action((id: string) =>
      withService(async (svc) => {
        const { pendingOf } = await service();
        const { waiting, inFlight } = pendingOf(await svc.holdMessage(id), Date.now());
        io.out(`${id} held: ${plural(waiting.length + inFlight.length, 'pending recipient')} wait until: postern queue release ${id}`);
        if (inFlight.length)
          io.out(`note: ${plural(inFlight.length, 'recipient')} in flight on ${nodes(inFlight)}: that attempt still completes`);
      }),
    );
  queue
    .command('release <id>')
    .description('send a held message again (its pending recipients are due now)')
    .action((id: string) =>
      withService(async (svc) => {
        const { pendingOf } = await service();
        const { waiting, inFlight } = pendingOf(await svc.releaseMessage(id), Date.now());
        io.out(`${id} released: ${plural(waiting.length + inFlight.length, 'recipient')} due now`);
      }),
    );
  queue
    .command('delete <id>')
    .description('delete a message; --bounce: the running server bounces its pending recipients to the sender')
    .option('--bounce', 'fail the pending recipients and send the sender a bounce')
    .action((id: string, o: { bounce?: boolean }) =>
      withService(async (svc) =>
        io.out(deleteReport(await svc.deleteMessage(id, { bounce: o.bounce, removeBody: spoolRemove })).join('\n')),
      ),
    );
}
