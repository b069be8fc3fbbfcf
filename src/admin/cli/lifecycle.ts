/**
 * The life of an account on the command line: `customer suspend|resume|rename|remove`,
 * `domain remove|move`. Removals and moves need --dry-run (print everything affected, change
 * nothing) or --yes; both print the same list.
 */
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import type { LifecyclePlan } from '../removal.ts';
import { planLines } from '../plan-text.ts';
import { CliExit, type Io } from './output.ts';
import { spoolRemover } from './spool.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

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

interface RemoveOptions {
  dryRun?: boolean;
  yes?: boolean;
  drain?: boolean;
  bounce?: boolean;
  wait?: string;
  json?: boolean;
}

export function registerLifecycleCommands(program: Command, customer: Command, domain: Command, io: Io, withService: WithService): void {
  const removeBody = spoolRemover(program);
  const print = (
    p: LifecyclePlan,
    json: boolean | undefined,
    o: { done: boolean; mode?: 'drain' | 'bounce'; waitS?: number },
    extra: Record<string, unknown> = {},
  ) => io.out(json ? JSON.stringify({ ...p, done: o.done, ...extra }, null, 2) : planLines(p, o).join('\n'));
  const removeOptions = (c: Command) =>
    c
      .option('--dry-run', 'list everything affected, change nothing')
      .option('--yes', 'do it')
      .option('--drain', 'deliver its queued mail first (the default)')
      .option('--bounce', 'send its queued mail back to the senders instead')
      .option('--wait <seconds>', 'how long to wait for the queued mail (default 120)')
      .option('--json', 'JSON output');

  customer
    .command('suspend <name>')
    .description('refuse every mailbox, site and token of a customer at once; hold its queued mail')
    .action((name: string) =>
      withService(async (svc) => {
        const r = await svc.suspendCustomer(name);
        io.out(
          `customer ${r.customer.name} suspended: its mailboxes, sites and tokens are refused; ${n(r.held, 'queued message')} held until it is resumed` +
            (r.inFlight ? ` (${n(r.inFlight, 'message')} had an attempt in flight, which finishes)` : ''),
        );
      }),
    );
  customer
    .command('resume <name>')
    .description('let a suspended customer log in and send again; release the mail its suspension held')
    .action((name: string) =>
      withService(async (svc) => {
        const r = await svc.resumeCustomer(name);
        io.out(
          `customer ${r.customer.name} resumed${r.wasRemoving ? ' (its removal is called off)' : ''}; ${n(r.released, 'held message')} released`,
        );
      }),
    );
  customer
    .command('rename <old> <new>')
    .description('rename a customer (panels rename accounts); everything of it follows')
    .action((from: string, to: string) =>
      withService(async (svc) => {
        const r = await svc.renameCustomer(from, to);
        io.out(`customer ${r.before} renamed to ${r.customer.name}`);
      }),
    );
  removeOptions(
    customer.command('remove <name>').description('remove a customer with everything of it (--dry-run first, then --yes)'),
  ).action((name: string, o: RemoveOptions) =>
    withService(async (svc) => {
      confirm(o, `removing customer ${name}`);
      const mode = modeOf(o);
      const waitS = waitOf(o.wait);
      if (o.dryRun) return print(await svc.planCustomerRemoval(name), o.json, { done: false, mode, waitS });
      const r = await svc.removeCustomer(name, { mode, waitMs: waitS * 1000, removeBody });
      print(r.plan, o.json, { done: true, mode, waitS }, { bounced: r.bounced, deleted: r.deleted, webhook: r.webhook });
      if (!o.json && r.webhook !== 'none')
        io.out(
          `  webhook customer.removed: ${r.webhook === 'delivered' ? 'delivered' : 'not delivered (its endpoints are gone with the customer; see the server log)'}`,
        );
    }),
  );
  removeOptions(
    domain.command('remove <domain>').description('remove a hosted domain with its mailboxes and DKIM keys (--dry-run first, then --yes)'),
  ).action((name: string, o: RemoveOptions) =>
    withService(async (svc) => {
      confirm(o, `removing domain ${name}`);
      const mode = modeOf(o);
      const waitS = waitOf(o.wait);
      if (o.dryRun) return print(await svc.planDomainRemoval(name), o.json, { done: false, mode, waitS });
      const r = await svc.removeDomain(name, { mode, waitMs: waitS * 1000, removeBody });
      print(r.plan, o.json, { done: true, mode, waitS }, { bounced: r.bounced, deleted: r.deleted });
    }),
  );
  domain
    .command('move <domain>')
    .description('give a domain and its mailboxes to another customer (--dry-run first, then --yes)')
    .requiredOption('--customer <name>', 'the customer it goes to')
    .option('--dry-run', 'list everything affected, change nothing')
    .option('--yes', 'do it')
    .option('--drop-crossing-grants', 'drop the grants that would cross customers instead of refusing the move')
    .option('--json', 'JSON output')
    .action((name: string, o: { customer: string; dryRun?: boolean; yes?: boolean; dropCrossingGrants?: boolean; json?: boolean }) =>
      withService(async (svc) => {
        confirm(o, `moving domain ${name}`);
        if (o.dryRun) return print(await svc.planDomainMove(name, o.customer), o.json, { done: false });
        const r = await svc.moveDomain(name, o.customer, { dropCrossing: o.dropCrossingGrants });
        print(r.plan, o.json, { done: true });
      }),
    );
}
