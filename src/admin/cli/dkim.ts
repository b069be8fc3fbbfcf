/** `postern dkim show|rotate|activate`, `postern domain dns` and `postern domain check`: DKIM keys, DNS records, domain health. */
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import { table, iso, CliExit, type Io, jsonText } from './output.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

export function registerDkimCommands(program: Command, io: Io, withService: WithService): void {
  const dkim = program.command('dkim').description('DKIM keys per domain: the records to publish, staged rotation');
  dkim
    .command('show <domain>')
    .description('the keys of a domain (pending, active, retiring) with the exact DNS records to publish')
    .option('--json', 'JSON output')
    .action((domain: string, o: { json?: boolean }) =>
      withService(async (svc) => {
        const keys = await svc.showDkim(domain);
        if (o.json) return io.out(jsonText(keys));
        if (!keys.length)
          return io.out(`${domain.toLowerCase()} has no DKIM key; make one with: postern dkim rotate ${domain.toLowerCase()}`);
        io.out(
          table(
            keys.map((k) => ({
              selector: k.selector,
              algorithm: k.algorithm,
              state: k.state,
              since: iso(k.retiringAt ?? k.activatedAt ?? k.createdAt),
            })),
            ['selector', 'algorithm', 'state', 'since'],
          ),
        );
        io.out('');
        io.out('Publish (keep retiring records until they are retired):');
        for (const k of keys) io.out(k.zone);
      }),
    );
  dkim
    .command('rotate <domain>')
    .description('make the next key as pending; publish its record, then activate it')
    .option('--algorithm <alg>', 'only rsa or ed25519 (default: every enabled algorithm)')
    .action((domain: string, o: { algorithm?: string }) =>
      withService(async (svc) => {
        for (const k of await svc.rotateDkim(domain, o.algorithm)) {
          io.out(`pending key ${k.selector} (${k.algorithm}); publish, then run postern dkim activate ${domain.toLowerCase()}:`);
          io.out(k.zone);
        }
      }),
    );
  dkim
    .command('activate <domain>')
    .description('sign with the pending keys once DNS shows their records; the keys they replace start retiring')
    .option('--force', 'do not check DNS first')
    .action((domain: string, o: { force?: boolean }) =>
      withService(async (svc) => {
        const r = await svc.activateDkim(domain, Boolean(o.force));
        for (const k of r.activated) io.out(`active: ${k.selector} (${k.algorithm})`);
        for (const k of r.retiring) io.out(`retiring: ${k.selector} (${k.algorithm}); keep its record published until it is retired`);
      }),
    );

  const domain = program.commands.find((c) => c.name() === 'domain');
  if (!domain) throw new Error('the domain command must be registered first');
  domain
    .command('dns <domain>')
    .description('the DNS records the domain needs: submission SRV, autoconfig and autodiscover names, DKIM, SPF, DMARC')
    .option('--json', 'JSON output')
    .action((name: string, o: { json?: boolean }) =>
      withService(async (svc) => {
        const records = await svc.domainDns(name);
        const { formatRecords } = await import('../../clientsetup/index.ts');
        io.out(o.json ? jsonText(records) : formatRecords(records));
      }),
    );
  domain
    .command('check <domain>')
    .description('look up DKIM, SPF, DMARC, MX, PTR and HELO and say exactly what to publish; exit 1 when something fails')
    .option('--json', 'JSON output')
    .action((name: string, o: { json?: boolean }) =>
      withService(async (svc) => {
        const report = await svc.checkDomain(name);
        const { formatCheckReport } = await import('../../dkim/index.ts');
        io.out(o.json ? jsonText(report) : formatCheckReport(report).trimEnd());
        if (!report.ok) throw new CliExit(1);
      }),
    );
}
