/** `postern limits set|show|clear`: sending limits with the current usage beside each. */
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import { table, iso, type Io, jsonText } from './output.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

export function registerLimitCommands(program: Command, io: Io, withService: WithService): void {
  const limits = program.command('limits').description('sending limits per server, customer, domain, mailbox or site (fixed UTC windows)');
  limits
    .command('set <level> [target]')
    .description('set a limit: LEVEL is server, customer, domain, mailbox or site; TARGET a name, or * (the default for each)')
    .requiredOption('--window <window>', 'minute, hour, day or month')
    .option('--messages <n>', 'at most N messages per window')
    .option('--recipients <n>', 'at most N recipients per window')
    .option('--action <action>', 'when exceeded: defer (451 4.7.1), reject (550 5.7.1) or hold (accept into the hold queue)', 'defer')
    .action((level: string, target: string | undefined, o: { window: string; messages?: string; recipients?: string; action: string }) =>
      withService(async (svc) => {
        for (const r of await svc.setLimit(level, target, o)) {
          io.out(
            `limit set: ${r.level}${r.level === 'server' ? '' : ` ${r.target}`}: ${r.max} ${r.metric} per ${r.window}, then ${r.action}`,
          );
        }
      }),
    );
  limits
    .command('show [level] [target]')
    .description('the limits (for one target: those that apply to it) with the usage of the window running now')
    .option('--json', 'JSON output')
    .action((level: string | undefined, target: string | undefined, o: { json?: boolean }) =>
      withService(async (svc) => {
        const rows = await svc.showLimits(level, target);
        if (o.json) return io.out(jsonText(rows));
        if (!rows.length) return io.out('no limits');
        io.out(
          table(
            rows.map((r) => ({
              level: r.level,
              target: r.target,
              window: r.window,
              metric: r.metric,
              max: r.max,
              action: r.action,
              used: r.usage === null ? '(per target)' : String(r.usage),
              since: r.windowStart === null ? '' : iso(r.windowStart),
            })),
            ['level', 'target', 'window', 'metric', 'max', 'used', 'since', 'action'],
          ),
        );
      }),
    );
  limits
    .command('clear <level> [target]')
    .description('remove limits of a level and target (all windows and metrics unless given)')
    .option('--window <window>', 'only this window')
    .option('--metric <metric>', 'only messages or recipients')
    .action((level: string, target: string | undefined, o: { window?: string; metric?: string }) =>
      withService(async (svc) => io.out(`${await svc.clearLimit(level, target, o)} limit(s) removed`)),
    );
}
