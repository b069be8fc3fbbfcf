/** `postern webhook add|list|remove|rotate-secret|enable|disable|log|test`: customers' signed event notifications. */
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import { AdminError } from '../errors.ts';
import { table, isoSec, type Io, jsonText } from './output.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

function limitOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new AdminError(`--limit must be a whole number from 1 to 10000: ${v}`);
  return Number(v);
}

export function registerWebhookCommands(program: Command, io: Io, withService: WithService): void {
  const hook = program
    .command('webhook')
    .description(
      'webhook endpoints of customers: signed notifications of delivered, deferred, bounced, held and limit-reached mail (docs/webhooks.md)',
    );
  const secretOut = (secret: string) => io.out(`secret: ${secret}\n(shown once; requests carry Postern-Signature made with it)`);

  hook
    .command('add')
    .description('add an endpoint for a customer; prints its signing secret once')
    .requiredOption('--customer <name>', 'owning customer')
    .requiredOption('--url <url>', 'where events are POSTed (https://)')
    .option('--events <list>', 'comma-separated: delivered, deferred, bounced, held, limit-reached (default: all)')
    .action((o: { customer: string; url: string; events?: string }) =>
      withService(async (svc) => {
        const r = await svc.addWebhook({ customer: o.customer, url: o.url, events: o.events });
        io.out(`webhook endpoint ${r.endpoint.id} added for customer ${r.endpoint.customerName}: ${r.endpoint.url}`);
        io.out(`events: ${r.endpoint.events.join(', ')}`);
        secretOut(r.secret);
      }),
    );
  hook
    .command('list')
    .description('list endpoints')
    .option('--customer <name>', 'only this customer')
    .option('--json', 'JSON output')
    .action((o: { customer?: string; json?: boolean }) =>
      withService(async (svc) => {
        const { publicEndpoint } = await import('../webhooks.ts');
        const rows = (await svc.listWebhooks(o.customer)).map(publicEndpoint);
        io.out(
          o.json
            ? jsonText(rows)
            : table(
                rows.map((r) => ({ ...r, events: r.events.join(','), enabled: r.enabled ? 'yes' : 'no' })),
                ['id', 'customer', 'url', 'events', 'enabled', 'createdAt'],
              ),
        );
      }),
    );
  hook
    .command('remove <id>')
    .description('delete an endpoint with its delivery log')
    .action((id: string) => withService(async (svc) => io.out(`webhook endpoint ${(await svc.removeWebhook(id)).id} removed`)));
  hook
    .command('rotate-secret <id>')
    .description('give an endpoint a new signing secret; the old one is no longer used')
    .action((id: string) =>
      withService(async (svc) => {
        const r = await svc.rotateWebhookSecret(id);
        io.out(`new secret for webhook endpoint ${r.endpoint.id}; the next requests are signed with it`);
        secretOut(r.secret);
      }),
    );
  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    hook
      .command(`${name} <id>`)
      .description(
        enabled ? 'send to an endpoint again (what waited is sent)' : 'stop sending to an endpoint (no new events; pending ones wait)',
      )
      .action((id: string) =>
        withService(async (svc) => io.out(`webhook endpoint ${(await svc.setWebhookEnabled(id, enabled)).id} ${name}d`)),
      );
  }
  hook
    .command('log')
    .description('recent deliveries, newest first: event, state, attempts, last answer')
    .option('--customer <name>', 'only this customer')
    .option('--endpoint <id>', 'only this endpoint')
    .option('--limit <n>', 'at most N deliveries (default 50)')
    .option('--json', 'JSON output (with each payload)')
    .action((o: { customer?: string; endpoint?: string; limit?: string; json?: boolean }) =>
      withService(async (svc) => {
        const { publicDelivery } = await import('../webhooks.ts');
        const rows = (await svc.webhookLog({ customer: o.customer, endpoint: o.endpoint, limit: limitOf(o.limit) })).map(publicDelivery);
        if (o.json) return io.out(jsonText(rows));
        io.out(
          table(
            rows.map((d) => ({
              created: isoSec(Date.parse(d.createdAt!)),
              endpoint: d.endpoint,
              type: d.type,
              event: d.event,
              state: d.state,
              attempts: d.attempts,
              last: d.lastError ?? (d.lastStatus === null ? '' : `HTTP ${d.lastStatus}`),
              next: d.nextAttemptAt ? isoSec(Date.parse(d.nextAttemptAt)) : '',
            })),
            ['created', 'endpoint', 'type', 'event', 'state', 'attempts', 'last', 'next'],
          ),
        );
      }),
    );
  hook
    .command('test <id>')
    .description('queue a ping event for an endpoint (the running server sends it; see webhook log)')
    .action((id: string) =>
      withService(async (svc) => {
        const r = await svc.testWebhook(id);
        io.out(`ping ${r.eventId} queued for webhook endpoint ${r.endpoint.id} (${r.endpoint.url})`);
      }),
    );
}
