/** `postern mailbox import`, `postern grant import`, and a mailbox's app passwords. */
import fs from 'node:fs';
import type { Command } from 'commander';
import type { AdminService } from '../service.ts';
import { describeImport, IMPORT_FORMATS, type ImportReport } from '../import.ts';
import { table, iso, CliExit, type Io } from './output.ts';
import { AdminError } from '../errors.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

async function readInput(file: string, io: Io): Promise<string> {
  if (file === '-') return io.readStdin();
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new AdminError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Prints the report; refused lines make the exit code 1 (the rest was applied). */
function report(io: Io, r: ImportReport, json: boolean | undefined): void {
  io.out(json ? JSON.stringify(r, null, 2) : describeImport(r));
  if (r.refused.length) throw new CliExit(1);
}

export function registerImportCommands(program: Command, mailbox: Command, io: Io, withService: WithService): void {
  mailbox
    .command('import <file>')
    .description('bring mailboxes in with their existing password hashes ("-" reads standard input); re-running updates what changed')
    .requiredOption('--format <format>', IMPORT_FORMATS.join(', '))
    .option('--domain <domain>', 'the domain of bare user names (a shadow file of one domain)')
    .option('--json', 'JSON output')
    .action((file: string, o: { format: string; domain?: string; json?: boolean }) =>
      withService(async (svc) =>
        report(io, await svc.importMailboxes(await readInput(file, io), { format: o.format, domain: o.domain }), o.json),
      ),
    );

  const grant = program.command('grant').description('send-as grants in bulk');
  grant
    .command('import <file>')
    .description('send-as grants from a Postfix smtpd_sender_login_maps file: "ADDRESS  login1, login2" ("-" reads standard input)')
    .option('--json', 'JSON output')
    .action((file: string, o: { json?: boolean }) =>
      withService(async (svc) => report(io, await svc.importGrants(await readInput(file, io)), o.json)),
    );

  const app = mailbox.command('app-password').description('named passwords for mail programs, each revocable on its own');
  app
    .command('add <address> <name>')
    .description('make an app password; prints it once')
    .action((address: string, name: string) =>
      withService(async (svc) => {
        const r = await svc.addAppPassword(address, name);
        io.out(
          `app password "${r.appPassword.name}" of ${r.mailbox.address} added\npassword: ${r.password}\n(shown once; enter it in the mail program now)`,
        );
      }),
    );
  app
    .command('list <address>')
    .description('the app passwords of a mailbox (never the passwords)')
    .option('--json', 'JSON output')
    .action((address: string, o: { json?: boolean }) =>
      withService(async (svc) => {
        const { mailbox: m, appPasswords } = await svc.listAppPasswords(address);
        const rows = appPasswords.map((a) => ({
          name: a.name,
          createdAt: iso(a.createdAt),
          lastUsedAt: a.lastUsedAt === null ? '' : iso(a.lastUsedAt),
          lastIp: a.lastIp ?? '',
        }));
        if (o.json)
          return io.out(JSON.stringify({ address: m.address, appPasswordsOnly: m.appPasswordsOnly, appPasswords: rows }, null, 2));
        io.out(`${m.address}: ${m.appPasswordsOnly ? 'app passwords only' : 'its own password and app passwords'}`);
        io.out(rows.length ? table(rows, ['name', 'createdAt', 'lastUsedAt', 'lastIp']) : 'no app passwords');
      }),
    );
  app
    .command('revoke <address> <name>')
    .description('revoke an app password (its next login fails)')
    .action((address: string, name: string) =>
      withService(async (svc) => {
        const m = await svc.revokeAppPassword(address, name);
        io.out(`app password "${name.trim()}" of ${m.address} revoked`);
      }),
    );
  mailbox
    .command('app-passwords-only <address> <on|off>')
    .description("on: the mailbox's own password (webmail, website) no longer logs in on the submission ports")
    .action((address: string, mode: string) =>
      withService(async (svc) => {
        if (mode !== 'on' && mode !== 'off') throw new AdminError(`expected on or off: ${mode}`);
        const m = await svc.setAppPasswordsOnly(address, mode === 'on');
        io.out(
          m.appPasswordsOnly
            ? `${m.address}: only app passwords log in on the submission ports`
            : `${m.address}: its own password logs in again`,
        );
      }),
    );
}
