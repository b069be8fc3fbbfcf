/** `postern token add|list|revoke`: tokens of the admin HTTP API (operator, or one customer). */
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import type { ApiToken } from '../../core/index.ts';
import { table, iso, type Io, jsonText } from './output.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

const row = (t: ApiToken) => ({
  name: t.name,
  scope: t.customerName === null ? 'operator' : `customer:${t.customerName}`,
  createdAt: iso(t.createdAt),
  lastUsedAt: t.lastUsedAt === null ? null : iso(t.lastUsedAt),
  revokedAt: t.revokedAt === null ? null : iso(t.revokedAt),
});

export function registerTokenCommands(program: Command, io: Io, withService: WithService): void {
  const token = program.command('token').description('tokens of the admin HTTP API (/api/v1; docs/api.md)');
  token
    .command('add <name>')
    .description('make a token; prints it once')
    .option('--operator', 'an operator token: every customer, every operation')
    .option('--customer <name>', 'a customer token: sees and changes that customer only')
    .action((name: string, o: { operator?: boolean; customer?: string }) =>
      withService(async (svc) => {
        const r = await svc.addToken(name, o);
        io.out(`token ${r.record.name} added (${r.record.customerName === null ? 'operator' : `customer ${r.record.customerName}`})`);
        io.out(`token: ${r.token}\n(shown once; send it as "Authorization: Bearer ${r.token.slice(0, 8)}...")`);
      }),
    );
  token
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withService(async (svc) => {
        const rows = (await svc.listTokens()).map(row);
        io.out(
          o.json
            ? jsonText(rows)
            : table(
                rows.map((r) => ({ ...r, lastUsedAt: r.lastUsedAt ?? '-', revokedAt: r.revokedAt ?? '-' })),
                ['name', 'scope', 'createdAt', 'lastUsedAt', 'revokedAt'],
              ),
        );
      }),
    );
  token
    .command('revoke <name>')
    .description('revoke a token: it stops working at once')
    .action((name: string) => withService(async (svc) => io.out(`token ${(await svc.revokeToken(name)).name} revoked`)));
}
