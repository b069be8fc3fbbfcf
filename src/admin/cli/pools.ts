/** `postern pool assign|unassign|list|show`: egress pools (delivery.pools) and who leaves from which. */
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import { poolTargetOf, publicAssignment, publicListing } from '../pools.ts';
import { formatCheckReport } from '../../dkim/index.ts';
import { CliExit, table, iso, type Io } from './output.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;
interface TargetOptions {
  customer?: string;
  domain?: string;
  site?: string;
}

const targetOptions = (c: Command) =>
  c
    .option('--customer <name>', 'all mail of a customer')
    .option('--domain <domain>', "mail sent as a hosted domain (wins over its customer's pool)")
    .option('--site <name>', "mail of a site (wins over its domain's and customer's)");

export function registerPoolCommands(program: Command, io: Io, withService: WithService): void {
  const pool = program
    .command('pool')
    .description('egress pools: source addresses and HELO per pool (delivery.pools), and who sends from which');
  targetOptions(pool.command('assign <pool>').description('send the mail of a customer, domain or site from POOL')).action(
    (name: string, o: TargetOptions) =>
      withService(async (svc) => {
        const t = poolTargetOf(o);
        const a = await svc.assignPool(t.kind, t.name, name);
        io.out(`${a.kind} ${a.name} (customer ${a.customerName}) sends from pool ${a.pool}`);
      }),
  );
  targetOptions(
    pool.command('unassign').description('remove the pool of a customer, domain or site (the next less specific pool applies)'),
  ).action((o: TargetOptions) =>
    withService(async (svc) => {
      const t = poolTargetOf(o);
      await svc.unassignPool(t.kind, t.name);
      io.out(`${t.kind} ${t.name} has no pool of its own now`);
    }),
  );
  pool
    .command('list')
    .description('the configured pools with their addresses, HELO name and how many are assigned')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withService(async (svc) => {
        const rows = await svc.listPools();
        if (o.json) return io.out(JSON.stringify(rows, null, 2));
        if (!rows.length) return io.out("no egress pools configured (delivery.pools): all mail leaves from the host's default address");
        io.out(
          table(
            rows.map((p) => ({
              pool: p.isDefault ? `${p.name} (default)` : p.name,
              addresses: p.addresses.join(' '),
              helo: p.helo,
              select: p.select,
              concurrency: p.concurrency ?? '-',
              assigned: p.assignments,
            })),
            ['pool', 'addresses', 'helo', 'select', 'concurrency', 'assigned'],
          ),
        );
      }),
    );
  pool
    .command('show <pool>')
    .description('one pool: its settings and the customers, domains and sites assigned to it')
    .option('--json', 'JSON output')
    .action((name: string, o: { json?: boolean }) =>
      withService(async (svc) => {
        const p = await svc.showPool(name);
        if (o.json)
          return io.out(
            JSON.stringify({ ...p, assigned: p.assigned.map(publicAssignment), blocklists: p.blocklists.map(publicListing) }, null, 2),
          );
        if (!p.configured)
          io.out(`pool ${p.name} is NOT in delivery.pools: mail of these is deferred until it is configured or they are unassigned`);
        else {
          io.out(`pool ${p.name}${p.isDefault ? ' (default)' : ''}`);
          io.out(`addresses: ${p.addresses.join(', ')}`);
          io.out(`helo: ${p.helo}`);
          io.out(`select: ${p.select}${p.select === 'hash' ? ' (of the recipient domain)' : ''}`);
          io.out(`concurrency: ${p.concurrency ?? 'no limit of its own'}`);
        }
        for (const r of p.blocklists) {
          io.out(
            r.listed
              ? `LISTED: ${r.address} on ${r.zone} (${r.codes.join(', ')}${r.meaning ? `: ${r.meaning}` : ''}) since ${iso(r.listedSince ?? r.checkedAt)}`
              : `not listed: ${r.address} on ${r.zone} (checked ${iso(r.checkedAt)})`,
          );
        }
        if (!p.assigned.length) return io.out('assigned: none');
        io.out(
          table(
            p.assigned.map((a) => ({ kind: a.kind, name: a.name, customer: a.customerName, since: iso(a.updatedAt) })),
            ['kind', 'name', 'customer', 'since'],
          ),
        );
      }),
    );
  pool
    .command('check <pool>')
    .description(
      "PTR of each pool address (forward-confirmed, matching the HELO name), the HELO name's addresses, and SPF of every domain sending from the pool, with the exact records to publish; exit 1 when something fails",
    )
    .option('--json', 'JSON output')
    .action((name: string, o: { json?: boolean }) =>
      withService(async (svc) => {
        const report = await svc.checkPool(name);
        io.out(o.json ? JSON.stringify(report, null, 2) : formatCheckReport(report).trimEnd());
        if (!report.ok) throw new CliExit(1);
      }),
    );
}
