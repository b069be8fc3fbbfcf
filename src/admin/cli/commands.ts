/** The administrative commands: customer, domain, mailbox, route; queue (queue.ts). */
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import { table, iso, type Io, jsonText } from './output.ts';
import { registerQueueCommands } from './queue.ts';
import { registerLimitCommands } from './limits.ts';
import { registerLifecycleCommands } from './lifecycle.ts';
import type { GrantInput } from '../grants.ts';
import { registerImportCommands } from './imports.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

async function passwordFromStdin(io: Io): Promise<string> {
  const text = await io.readStdin();
  return text.replace(/\r?\n$/, '');
}

export function registerAdminCommands(program: Command, io: Io, withService: WithService): void {
  const customer = program.command('customer').description('hosting accounts');
  customer
    .command('add <name>')
    .description('add a customer')
    .option('--contact <address>', 'where notices about the account go (a mailbox put on hold)')
    .action((name: string, o: { contact?: string }) =>
      withService(async (svc) => {
        const c = await svc.addCustomer(name, o.contact);
        io.out(`customer ${c.name} added${c.contact ? ` (contact ${c.contact})` : ''}`);
      }),
    );
  customer
    .command('contact <name> <address>')
    .description('set the contact address of a customer ("" removes it)')
    .action((name: string, address: string) =>
      withService(async (svc) => {
        const c = await svc.setContact(name, address);
        io.out(c.contact ? `contact of ${c.name}: ${c.contact}` : `${c.name} has no contact address`);
      }),
    );
  customer
    .command('list')
    .description('list customers')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withService(async (svc) => {
        const rows = (await svc.listCustomers()).map((c) => ({
          name: c.name,
          status: c.status,
          suspendedAt: c.suspendedAt === null ? null : iso(c.suspendedAt),
          contact: c.contact,
          createdAt: iso(c.createdAt),
        }));
        io.out(
          o.json
            ? jsonText(rows)
            : table(
                rows.map((r) => ({ ...r, contact: r.contact ?? '' })),
                ['name', 'status', 'contact', 'createdAt'],
              ),
        );
      }),
    );

  const domain = program.command('domain').description('hosted domains');
  domain
    .command('add <domain>')
    .description('add a hosted domain to a customer')
    .requiredOption('--customer <name>', 'owning customer')
    .action((name: string, o: { customer: string }) =>
      withService(async (svc) => {
        const d = await svc.addDomain(name, o.customer);
        io.out(`domain ${d.name} added for customer ${d.customerName}`);
      }),
    );
  domain
    .command('list')
    .description('list hosted domains')
    .option('--customer <name>', 'only this customer')
    .option('--json', 'JSON output')
    .action((o: { customer?: string; json?: boolean }) =>
      withService(async (svc) => {
        const rows = (await svc.listDomains(o.customer)).map((d) => ({
          name: d.name,
          customer: d.customerName,
          createdAt: iso(d.createdAt),
        }));
        io.out(o.json ? jsonText(rows) : table(rows, ['name', 'customer', 'createdAt']));
      }),
    );

  registerLifecycleCommands(program, customer, domain, io, withService);

  const mailbox = program.command('mailbox').description('SMTP logins');
  mailbox
    .command('add <address>')
    .description('add a mailbox; prints a generated password once unless --password-stdin')
    .option('--password-stdin', 'read the password from standard input')
    .action((address: string, o: { passwordStdin?: boolean }) =>
      withService(async (svc) => {
        const pw = o.passwordStdin ? await passwordFromStdin(io) : undefined;
        const { mailbox: m, generated } = await svc.addMailbox(address, pw);
        io.out(`mailbox ${m.address} added for customer ${m.customerName}`);
        if (generated) io.out(`password: ${generated}\n(shown once; give it to the customer now)`);
      }),
    );
  mailbox
    .command('passwd <address>')
    .description('set a new password; prints a generated one unless --password-stdin')
    .option('--password-stdin', 'read the password from standard input')
    .action((address: string, o: { passwordStdin?: boolean }) =>
      withService(async (svc) => {
        const pw = o.passwordStdin ? await passwordFromStdin(io) : undefined;
        const { mailbox: m, generated } = await svc.setPassword(address, pw);
        io.out(`password of ${m.address} changed; sessions must log in again`);
        if (generated) io.out(`password: ${generated}\n(shown once)`);
      }),
    );
  mailbox
    .command('suspend <address>')
    .description('stop a mailbox from logging in')
    .action((address: string) => withService(async (svc) => io.out(`mailbox ${(await svc.suspend(address)).address} suspended`)));
  mailbox
    .command('resume <address>')
    .description('allow a suspended mailbox to log in again')
    .action((address: string) => withService(async (svc) => io.out(`mailbox ${(await svc.resume(address)).address} resumed`)));
  mailbox
    .command('remove <address>')
    .description('delete a mailbox (its queued mail stays queued)')
    .action((address: string) =>
      withService(async (svc) => {
        await svc.removeMailbox(address);
        io.out(`mailbox ${address.toLowerCase()} removed`);
      }),
    );
  const grantOptions = (c: Command) =>
    c
      .option(
        '--send-as <address>',
        'another address of the same customer (an alias such as orders@shop.example), or <> for the null sender',
      )
      .option('--domain <domain>', 'every address of a domain of the same customer');
  grantOptions(
    mailbox.command('grant <address>').description('let a mailbox send as another address or a whole domain of its customer'),
  ).action((address: string, o: GrantInput) =>
    withService(async (svc) => {
      const r = await svc.grant(address, o);
      const { describeGrant } = await import('../grants.ts');
      io.out(`${r.mailbox.address} may send as ${describeGrant(r.grant)}${r.added ? '' : ' (already granted)'}`);
    }),
  );
  grantOptions(mailbox.command('revoke <address>').description('take a grant back')).action((address: string, o: GrantInput) =>
    withService(async (svc) => {
      const r = await svc.revoke(address, o);
      const { describeGrant } = await import('../grants.ts');
      io.out(`${r.mailbox.address} may no longer send as ${describeGrant(r.grant)}`);
    }),
  );
  mailbox
    .command('grants <address>')
    .description('what a mailbox may send as')
    .option('--json', 'JSON output')
    .action((address: string, o: { json?: boolean }) =>
      withService(async (svc) => {
        const { mailbox: m, grants } = await svc.grants(address);
        const rows = [
          { kind: 'own', value: m.address, createdAt: iso(m.createdAt) },
          ...grants.map((g) => ({ kind: g.kind, value: g.value || '<>', createdAt: iso(g.createdAt) })),
        ];
        io.out(o.json ? jsonText(rows) : table(rows, ['kind', 'value', 'createdAt']));
      }),
    );
  mailbox
    .command('unlock <address>')
    .description('end the lock after too many failed logins')
    .action((address: string) =>
      withService(async (svc) => {
        const r = await svc.unlock(address);
        io.out(r.wasLocked ? `${r.mailbox.address} unlocked (failed logins reset)` : `${r.mailbox.address} was not locked`);
      }),
    );
  const ban = program.command('ban').description('client addresses refused after too many failed logins');
  ban
    .command('list')
    .description('addresses banned now')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withService(async (svc) => {
        const rows = (await svc.listBans()).map((b) => ({
          ip: b.ip,
          until: iso(b.bannedUntil),
          since: iso(b.createdAt),
          reason: b.reason,
        }));
        io.out(o.json ? jsonText(rows) : rows.length ? table(rows, ['ip', 'until', 'since', 'reason']) : 'no address is banned');
      }),
    );
  ban
    .command('remove <ip>')
    .description('lift the ban of an address')
    .action((ip: string) =>
      withService(async (svc) => {
        await svc.removeBan(ip);
        io.out(`${ip} is no longer banned`);
      }),
    );
  mailbox
    .command('list')
    .description('list mailboxes')
    .option('--customer <name>', 'only this customer')
    .option('--domain <domain>', 'only this domain')
    .option('--json', 'JSON output')
    .action((o: { customer?: string; domain?: string; json?: boolean }) =>
      withService(async (svc) => {
        const { publicMailbox } = await import('../service.ts');
        const rows = (await svc.listMailboxes(o)).map(publicMailbox);
        io.out(
          o.json
            ? jsonText(rows)
            : table(rows as unknown as Record<string, unknown>[], ['address', 'customer', 'status', 'source', 'createdAt']),
        );
      }),
    );

  registerImportCommands(program, mailbox, io, withService);

  const route = program.command('route').description('per-domain next hops that override the MX lookup');
  route
    .command('add <domain> <host>')
    .description('send mail for DOMAIN to HOST[:PORT] (port 25 by default; IPv6 in brackets); replaces an existing route')
    .option('--tls <mode>', 'none, opportunistic or required', 'opportunistic')
    .option('--auth <user>', 'log in to HOST as USER (over TLS only); the password is read from standard input')
    .action((domain: string, host: string, o: { tls: string; auth?: string }) =>
      withService(async (svc) => {
        const auth = o.auth !== undefined ? { user: o.auth, pass: await passwordFromStdin(io) } : null;
        const r = await svc.setRoute(domain, host, o.tls, auth);
        io.out(
          `route ${r.domain} -> ${r.host.includes(':') ? `[${r.host}]` : r.host}:${r.port} (tls ${r.tls}${r.authUser ? `, login ${r.authUser}` : ''})`,
        );
      }),
    );
  route
    .command('list')
    .description('list routes')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withService(async (svc) => {
        const rows = (await svc.listRoutes()).map((r) => ({
          domain: r.domain,
          host: r.host,
          port: r.port,
          tls: r.tls,
          login: r.authUser,
          updatedAt: iso(r.updatedAt),
        }));
        io.out(o.json ? jsonText(rows) : table(rows, ['domain', 'host', 'port', 'tls', 'login', 'updatedAt']));
      }),
    );
  route
    .command('remove <domain>')
    .description('remove the route of a domain (MX lookup again)')
    .action((domain: string) =>
      withService(async (svc) => {
        await svc.removeRoute(domain);
        io.out(`route of ${domain.toLowerCase()} removed`);
      }),
    );

  registerQueueCommands(program, io, withService);
  registerLimitCommands(program, io, withService);
  program
    .command('audit')
    .description('the audit trail of administrative changes, newest first')
    .option('--target <target>', 'only changes of this target (an address, "domain:NAME", "customer:NAME", a queue id ...)')
    .option('--limit <n>', 'at most N records', '50')
    .option('--json', 'JSON output')
    .action((o: { target?: string; limit: string; json?: boolean }) =>
      withService(async (svc) => {
        const rows = await svc.listAudit({ target: o.target, limit: Math.max(1, Number(o.limit) || 50) });
        if (o.json) return io.out(jsonText(rows));
        if (!rows.length) return io.out('no changes recorded');
        io.out(
          table(
            rows.map((r) => ({
              at: iso(r.at),
              actor: r.actor,
              action: r.action,
              target: r.target,
              before: JSON.stringify(r.before),
              after: JSON.stringify(r.after),
            })),
            ['at', 'actor', 'action', 'target', 'before', 'after'],
          ),
        );
      }),
    );
}
