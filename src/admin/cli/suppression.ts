/** `postern suppression list|add|remove`: recipients a customer's mail is refused for (hard bounces). */
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import type { Suppression } from '../../core/index.ts';
import { AdminError } from '../errors.ts';
import { isoSec, table, type Io, jsonText } from './output.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

const row = (s: Suppression) => ({
  customer: s.customerName,
  address: s.address,
  source: s.source,
  since: isoSec(s.updatedAt),
  until: isoSec(s.until),
  reason: s.reason,
});

function daysOf(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n)) throw new AdminError(`--days must be a number of days: ${v}`);
  return n;
}

export function registerSuppressionCommands(program: Command, io: Io, withService: WithService): void {
  const sup = program
    .command('suppression')
    .description("recipients that hard-bounced: a customer's mail to them is refused at RCPT for a while");
  sup
    .command('list')
    .description('suppressed recipients in force, newest first')
    .option('--customer <name>', 'only this customer')
    .option('--address <address>', 'only this address')
    .option('--limit <n>', 'at most this many', (v) => Number(v))
    .option('--json', 'JSON output')
    .action((o: { customer?: string; address?: string; limit?: number; json?: boolean }) =>
      withService(async (svc) => {
        const rows = (await svc.listSuppressions({ customer: o.customer, address: o.address, limit: o.limit })).map(row);
        if (o.json) return io.out(jsonText(rows));
        const cut = (s: string) => (s.length > 70 ? `${s.slice(0, 67)}...` : s);
        io.out(
          table(
            rows.map((r) => ({ ...r, reason: cut(r.reason.replace(/\s+/g, ' ')) })),
            ['customer', 'address', 'source', 'since', 'until', 'reason'],
          ),
        );
      }),
    );
  sup
    .command('add <address>')
    .description('suppress a recipient for a customer (its mail to it is refused with 550 5.1.1)')
    .requiredOption('--customer <name>', 'the customer whose mail is refused')
    .option('--days <n>', 'for this many days (default: suppression.days)')
    .option('--reason <text>', 'why (shown in the refusal)')
    .action((address: string, o: { customer: string; days?: string; reason?: string }) =>
      withService(async (svc) => {
        const s = await svc.addSuppression(address, {
          customer: o.customer,
          days: o.days === undefined ? undefined : daysOf(o.days),
          reason: o.reason,
        });
        io.out(`${s.address} suppressed for customer ${s.customerName} until ${isoSec(s.until)}`);
      }),
    );
  sup
    .command('remove <address>')
    .description("lift a suppression: the customer's mail to the address is accepted again at once")
    .requiredOption('--customer <name>', 'the customer')
    .action((address: string, o: { customer: string }) =>
      withService(async (svc) => {
        const r = await svc.removeSuppression(address, { customer: o.customer });
        io.out(`${r.address} is no longer suppressed for customer ${r.customer}`);
      }),
    );
}
