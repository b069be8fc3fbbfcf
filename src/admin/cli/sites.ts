/** `postern site add|list|remove|rotate-token|grant|revoke`: websites that send without SMTP AUTH. */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/index.ts';
import type { AdminService } from '../service.ts';
import type { SiteGrant } from '../../core/index.ts';
import { AdminError } from '../errors.ts';
import { table, iso, type Io, jsonText } from './output.ts';

type WithService = <T>(fn: (svc: AdminService) => Promise<T>) => Promise<T>;

const collect = (v: string, prev: string[]) => [...prev, v];
const describe = (g: Pick<SiteGrant, 'kind' | 'value'>) => (g.kind === 'domain' ? `any address @${g.value}` : g.value);

/** uid and gid of a unix user from /etc/passwd, or null. */
function passwdEntry(user: string): { uid: number; gid: number } | null {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === user && f.length > 3) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    /* no passwd */
  }
  return null;
}

/**
 * Writes the token file (0600; owned by the site's unix user when run as root). The folder may
 * belong to the site user, so nothing is followed: the temporary file gets a random name and is
 * created with O_EXCL|O_NOFOLLOW, its owner is changed through the open descriptor, and the
 * rename replaces whatever is at the final name (a link there is replaced, never followed).
 */
function writeTokenFile(file: string, text: string, unixUser: string | null): string {
  const abs = path.resolve(file);
  const tmp = `${abs}.tmp-${randomBytes(8).toString('hex')}`;
  let fd: number | null = null;
  try {
    const pw = unixUser && process.getuid?.() === 0 ? passwdEntry(unixUser) : null;
    if (unixUser && process.getuid?.() === 0 && !pw)
      throw new AdminError(`no unix user ${unixUser} on this machine: the token file would not be readable by the site`);
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
    if (pw) fs.fchownSync(fd, pw.uid, pw.gid);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, abs);
    return `${abs} (mode 0600${pw ? `, owner ${unixUser}` : ''})`;
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    try {
      if (fs.lstatSync(tmp).isFile()) fs.unlinkSync(tmp);
    } catch {
      /* not made */
    }
    if (err instanceof AdminError) throw err;
    throw new AdminError(`cannot write the token file ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function registerSiteCommands(program: Command, io: Io, withService: WithService, config: () => Config): void {
  const site = program.command('site').description('websites that send through `postern sendmail` or the HTTP send API');
  const grantOptions = (c: Command) =>
    c
      .option('--send-as <address>', 'an address of the customer the site may send as (repeatable)', collect, [])
      .option('--domain <domain>', 'every address of a domain of the customer (repeatable)', collect, []);
  const tokenOut = async (name: string, customer: string, token: string, unixUser: string | null, file?: string) => {
    io.out(`token: ${token}\n(shown once)`);
    if (file) {
      const [{ localPaths }, { tokenFileText }] = await Promise.all([import('../../config/index.ts'), import('../../inject/sendmail.ts')]);
      const paths = localPaths(config());
      io.out(`token file: ${writeTokenFile(file, tokenFileText({ site: name, customer, token, ...paths }), unixUser)}`);
    }
  };

  grantOptions(
    site
      .command('add <name>')
      .description('add a site; prints its token once')
      .requiredOption('--customer <name>', 'owning customer')
      .option('--unix-user <user>', 'the unix user its website runs as (recorded in Received)')
      .option('--token-file <path>', 'also write the token file `postern sendmail` reads (e.g. ~USER/.postern-site)'),
  ).action((name: string, o: { customer: string; unixUser?: string; sendAs: string[]; domain: string[]; tokenFile?: string }) =>
    withService(async (svc) => {
      const r = await svc.addSite(name, { customer: o.customer, unixUser: o.unixUser, sendAs: o.sendAs, domain: o.domain });
      io.out(`site ${r.site.name} added for customer ${r.site.customerName}${r.site.unixUser ? ` (unix user ${r.site.unixUser})` : ''}`);
      io.out(`may send as: ${r.grants.map(describe).join(', ')}`);
      await tokenOut(r.site.name, r.site.customerName, r.token, r.site.unixUser, o.tokenFile);
    }),
  );
  site
    .command('list')
    .description('list sites')
    .option('--customer <name>', 'only this customer')
    .option('--json', 'JSON output')
    .action((o: { customer?: string; json?: boolean }) =>
      withService(async (svc) => {
        const rows = (await svc.listSites(o.customer)).map(({ site: s, grants }) => ({
          name: s.name,
          customer: s.customerName,
          unixUser: s.unixUser,
          sendAs: grants.map(describe).join(', '),
          createdAt: iso(s.createdAt),
        }));
        io.out(o.json ? jsonText(rows) : table(rows, ['name', 'customer', 'unixUser', 'sendAs', 'createdAt']));
      }),
    );
  site
    .command('remove <name>')
    .description('delete a site (its token stops working; its queued mail stays queued)')
    .action((name: string) => withService(async (svc) => io.out(`site ${(await svc.removeSite(name)).name} removed`)));
  site
    .command('rotate-token <name>')
    .description('give a site a new token; the old one stops working at once')
    .option('--token-file <path>', 'also write the new token file')
    .action((name: string, o: { tokenFile?: string }) =>
      withService(async (svc) => {
        const r = await svc.rotateSiteToken(name);
        io.out(`new token for site ${r.site.name}; the old one no longer works`);
        await tokenOut(r.site.name, r.site.customerName, r.token, r.site.unixUser, o.tokenFile);
      }),
    );
  grantOptions(site.command('grant <name>').description('let a site send as more addresses or domains of its customer')).action(
    (name: string, o: { sendAs: string[]; domain: string[] }) =>
      withService(async (svc) => {
        const r = await svc.grantSite(name, o);
        io.out(`site ${r.site.name} may send as ${r.added.map(describe).join(', ')}`);
      }),
  );
  grantOptions(site.command('revoke <name>').description('take grants of a site back')).action(
    (name: string, o: { sendAs: string[]; domain: string[] }) =>
      withService(async (svc) => {
        const r = await svc.revokeSite(name, o);
        io.out(`site ${r.site.name} may no longer send as ${r.removed.map(describe).join(', ')}`);
      }),
  );
}
