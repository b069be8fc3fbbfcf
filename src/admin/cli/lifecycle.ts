/**
 * The life of an account on the command line: `customer suspend|resume|rename|remove`,
 * `domain remove|move`. Removals and moves need --dry-run (print everything affected, change
 * nothing) or --yes; both print the same list.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { zoneQuoted } from '../../dkim/index.ts';
import { createSpool } from '../../spool/index.ts';
import type { AdminService } from '../service.ts';
import type { LifecyclePlan } from '../removal.ts';
import { CliExit, type Io } from './output.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
const listed = (items: string[]) => (items.length ? items.join(', ') : 'none');

/** The plan as lines: the same for a dry run and for the real thing (`verb`: "would be" or "were"). */
export function planLines(p: LifecyclePlan, o: { done: boolean; mode?: 'drain' | 'bounce'; waitS?: number }): string[] {
  const head = p.action === 'domain move'
    ? `domain ${p.target}: from customer ${p.customer} to ${p.to}${o.done ? ' (moved)' : ' (dry run: nothing changed)'}`
    : `${p.action.split(' ')[0]} ${p.target}${p.action === 'domain remove' ? ` (customer ${p.customer})` : ''}${o.done ? ' removed' : ' (dry run: nothing changed)'}`;
  const out = [head];
  const move = p.action === 'domain move';
  const gone = move ? (o.done ? 'moved' : 'would move') : (o.done ? 'removed' : 'would be removed');
  if (p.action === 'customer remove') out.push(`  domains ${gone}: ${listed(p.domains)}`);
  out.push(`  mailboxes ${gone}: ${listed(p.mailboxes)}`);
  if (p.action === 'customer remove') out.push(`  sites ${gone}: ${listed(p.sites)}`);
  const fate = (f: string) => p.grants.filter((g) => g.fate === f).map((g) => `${g.holder === 'site' ? 'site:' : ''}${g.name} ${g.kind}:${g.value || '<>'}`);
  if (move) {
    out.push(`  grants kept (within ${p.to}): ${listed(fate('kept'))}`);
    out.push(`  site grants on ${p.target} ${o.done ? 'removed' : 'to remove'} (the sites stay with ${p.customer}): ${listed(fate('removed').filter((g) => g.startsWith('site:')))}`);
    out.push(`  grants that would cross customers${o.done ? ' (dropped)' : ' (refused unless --drop-crossing-grants)'}: ${listed(fate('crossing'))}`);
  } else {
    out.push(`  sender grants ${gone}: ${listed(fate('removed'))}`);
  }
  if (move) out.push(`  DKIM keys kept (the DNS does not change): ${listed(p.dkim.map((k) => `${k.selector} (${k.state})`))}`);
  else if (!p.dkim.length) out.push('  DKIM keys: none');
  else {
    out.push(`  DKIM keys: ${n(p.dkim.length, 'private key')} ${o.done ? 'destroyed' : 'to be destroyed'}; these records can then be removed from DNS:`);
    for (const k of p.dkim) out.push(`    ${k.record}. IN TXT ${zoneQuoted(k.value)}`);
  }
  out.push(`  routes ${move ? 'kept' : gone}: ${listed(p.routes)}`);
  out.push(`  limits ${move ? `that move with it (domain and mailbox limits; ${p.customer}'s customer limits stay)` : gone}: ${listed(p.limits)}`);
  if (p.action === 'customer remove') {
    out.push(`  suppressions ${gone}: ${p.suppressions}`);
    out.push(`  webhook endpoints ${gone}: ${listed(p.webhooks)}`);
    out.push(`  API tokens ${gone}: ${listed(p.tokens)}`);
  } else if (move) out.push(`  suppressions: stay with ${p.customer} (they are its recipients' bounces)`);
  const q = p.queued.map((m) => `${m.id} ${m.state} from ${m.sender}`);
  const how = move ? `stay accounted to ${p.customer} and are delivered`
    : o.mode === 'bounce' ? 'bounced to their senders (null-sender notices deleted)'
      : `delivered first (waiting at most ${o.waitS ?? 120} s)`;
  out.push(`  queued messages (${p.queued.length}): ${listed(q)}${p.queued.length ? ` -> ${how}` : ''}`);
  if (!move) out.push(`  kept: the audit trail; message tracking until its retention time, marked ${p.action === 'customer remove' ? 'customer' : 'domain'}:${p.target}`);
  return out;
}

function confirm(o: { dryRun?: boolean; yes?: boolean }, what: string): void {
  if (o.dryRun && o.yes) throw new CliExit(64, 'postern: give either --dry-run or --yes, not both');
  if (!o.dryRun && !o.yes) throw new CliExit(64, `postern: ${what} changes a lot: look first with --dry-run, then confirm with --yes`);
}

function modeOf(o: { drain?: boolean; bounce?: boolean }): 'drain' | 'bounce' {
  if (o.drain && o.bounce) throw new CliExit(64, 'postern: give either --drain or --bounce, not both');
  return o.bounce ? 'bounce' : 'drain';
}

function waitOf(v: string | undefined): number {
  const s = v === undefined ? 120 : Number(v);
  if (!Number.isInteger(s) || s < 0 || s > 86_400) throw new CliExit(64, `postern: --wait must be whole seconds from 0 to 86400: ${v}`);
  return s;
}

interface RemoveOptions { dryRun?: boolean; yes?: boolean; drain?: boolean; bounce?: boolean; wait?: string; json?: boolean }

export function registerLifecycleCommands(program: Command, customer: Command, domain: Command, io: Io, withService: WithService): void {
  const removeBody = async (relPath: string) => {
    const dataDir = loadConfig(program.opts().config).config.dataDir;
    await (await createSpool(path.join(dataDir, 'spool'))).remove(relPath);
  };
  const print = (p: LifecyclePlan, json: boolean | undefined, o: { done: boolean; mode?: 'drain' | 'bounce'; waitS?: number }, extra: Record<string, unknown> = {}) =>
    io.out(json ? JSON.stringify({ ...p, done: o.done, ...extra }, null, 2) : planLines(p, o).join('\n'));
  const removeOptions = (c: Command) => c
    .option('--dry-run', 'list everything affected, change nothing')
    .option('--yes', 'do it')
    .option('--drain', 'deliver its queued mail first (the default)')
    .option('--bounce', 'send its queued mail back to the senders instead')
    .option('--wait <seconds>', 'how long to wait for the queued mail (default 120)')
    .option('--json', 'JSON output');

  customer.command('suspend <name>').description('refuse every mailbox, site and token of a customer at once; hold its queued mail')
    .action((name: string) => withService(async (svc) => {
      const r = await svc.suspendCustomer(name);
      io.out(`customer ${r.customer.name} suspended: its mailboxes, sites and tokens are refused; ${n(r.held, 'queued message')} held until it is resumed`
        + (r.inFlight ? ` (${n(r.inFlight, 'message')} had an attempt in flight, which finishes)` : ''));
    }));
  customer.command('resume <name>').description('let a suspended customer log in and send again; release the mail its suspension held')
    .action((name: string) => withService(async (svc) => {
      const r = await svc.resumeCustomer(name);
      io.out(`customer ${r.customer.name} resumed${r.wasRemoving ? ' (its removal is called off)' : ''}; ${n(r.released, 'held message')} released`);
    }));
  customer.command('rename <old> <new>').description('rename a customer (panels rename accounts); everything of it follows')
    .action((from: string, to: string) => withService(async (svc) => {
      const r = await svc.renameCustomer(from, to);
      io.out(`customer ${r.before} renamed to ${r.customer.name}`);
    }));
  removeOptions(customer.command('remove <name>').description('remove a customer with everything of it (--dry-run first, then --yes)'))
    .action((name: string, o: RemoveOptions) => withService(async (svc) => {
      confirm(o, `removing customer ${name}`);
      const mode = modeOf(o);
      const waitS = waitOf(o.wait);
      if (o.dryRun) return print(await svc.planCustomerRemoval(name), o.json, { done: false, mode, waitS });
      const r = await svc.removeCustomer(name, { mode, waitMs: waitS * 1000, removeBody });
      print(r.plan, o.json, { done: true, mode, waitS }, { bounced: r.bounced, deleted: r.deleted, webhook: r.webhook });
      if (!o.json && r.webhook !== 'none') io.out(`  webhook customer.removed: ${r.webhook === 'delivered' ? 'delivered' : 'not delivered (its endpoints are gone with the customer; see the server log)'}`);
    }));
  removeOptions(domain.command('remove <domain>').description('remove a hosted domain with its mailboxes and DKIM keys (--dry-run first, then --yes)'))
    .action((name: string, o: RemoveOptions) => withService(async (svc) => {
      confirm(o, `removing domain ${name}`);
      const mode = modeOf(o);
      const waitS = waitOf(o.wait);
      if (o.dryRun) return print(await svc.planDomainRemoval(name), o.json, { done: false, mode, waitS });
      const r = await svc.removeDomain(name, { mode, waitMs: waitS * 1000, removeBody });
      print(r.plan, o.json, { done: true, mode, waitS }, { bounced: r.bounced, deleted: r.deleted });
    }));
  domain.command('move <domain>').description('give a domain and its mailboxes to another customer (--dry-run first, then --yes)')
    .requiredOption('--customer <name>', 'the customer it goes to')
    .option('--dry-run', 'list everything affected, change nothing')
    .option('--yes', 'do it')
    .option('--drop-crossing-grants', 'drop the grants that would cross customers instead of refusing the move')
    .option('--json', 'JSON output')
    .action((name: string, o: { customer: string; dryRun?: boolean; yes?: boolean; dropCrossingGrants?: boolean; json?: boolean }) => withService(async (svc) => {
      confirm(o, `moving domain ${name}`);
      if (o.dryRun) return print(await svc.planDomainMove(name, o.customer), o.json, { done: false });
      const r = await svc.moveDomain(name, o.customer, { dropCrossing: o.dropCrossingGrants });
      print(r.plan, o.json, { done: true });
    }));
}
