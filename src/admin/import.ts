/**
 * Imports from the host Postern replaces: mailboxes with their existing password hashes (a
 * Dovecot passwd-file, a shadow file, or CSV) and send-as grants from a Postfix
 * smtpd_sender_login_maps file. Each line is checked on its own: a bad one is refused with its
 * line number and changes nothing; the good ones are applied. Re-running an import is safe:
 * what is already there counts as unchanged.
 */
import { addressKey, domainOf, normalizeDomain, parseAddress, type Mailbox } from '../core/index.ts';
import { StoreError, type Store } from '../store/index.ts';
import { parseStoredHash } from '../credentials/index.ts';
import { AdminError, sees, type TenantScope } from './errors.ts';
import { audit, type Declarations } from './audit.ts';

export const IMPORT_FORMATS = ['dovecot-passwd', 'shadow', 'csv'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportReport {
  added: number;
  updated: number;
  unchanged: number;
  refused: { line: number; error: string }[];
}

interface Entry {
  line: number;
  login: string;
  secret: string;
}

/** "a","b" or a,b: the fields of one CSV line (quotes double inside quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else v += line[i++];
      }
      out.push(v);
      while (i < line.length && line[i] !== ',') i++;
      i++;
    } else {
      const end = line.indexOf(',', i);
      out.push(line.slice(i, end === -1 ? line.length : end).trim());
      if (end === -1) break;
      i = end + 1;
    }
  }
  return out;
}

/** The (login, hash) pairs of a file, or the lines that are not in the format. Blank lines and # comments are skipped. */
export function parseMailboxFile(text: string, format: ImportFormat): { entries: Entry[]; refused: ImportReport['refused'] } {
  const entries: Entry[] = [];
  const refused: ImportReport['refused'] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim() || raw.trimStart().startsWith('#')) return;
    if (format === 'csv') {
      const f = csvFields(raw);
      if (line === 1 && !f[0]?.includes('@') && /address|user|login|email/i.test(f[0] ?? '')) return; // a header
      if (f.length < 2 || !f[0] || !f[1]) return void refused.push({ line, error: 'expected ADDRESS,HASH' });
      return void entries.push({ line, login: f[0], secret: f[1] });
    }
    // passwd-file: user:password:uid:gid:gecos:home:shell:extra; shadow: name:hash:lastchange:...
    const colon = raw.indexOf(':');
    if (colon <= 0)
      return void refused.push({ line, error: `expected ${format === 'shadow' ? 'NAME:HASH:...' : 'USER:{SCHEME}HASH:...'}` });
    const rest = raw.slice(colon + 1);
    const end = rest.indexOf(':');
    entries.push({ line, login: raw.slice(0, colon).trim(), secret: end === -1 ? rest : rest.slice(0, end) });
  });
  return { entries, refused };
}

export function createImportService(store: Store) {
  return {
    /**
     * Brings mailboxes in with their hashes (`postern mailbox import`). Bare user names (a shadow
     * file of one domain) need `domain`. An address of a domain Postern does not host (or the
     * scope does not see), a plain-text password or an unknown scheme is refused with its line.
     */
    async importMailboxes(text: string, o: { format: string; domain?: string }, scope?: TenantScope): Promise<ImportReport> {
      if (!(IMPORT_FORMATS as readonly string[]).includes(o.format))
        throw new AdminError(`--format must be one of ${IMPORT_FORMATS.join(', ')}: ${o.format}`);
      const qualify = o.domain === undefined ? null : normalizeDomain(o.domain);
      if (o.domain !== undefined && !qualify) throw new AdminError(`not a valid domain name: ${o.domain}`);
      const { entries, refused } = parseMailboxFile(text, o.format as ImportFormat);
      const report: ImportReport = { added: 0, updated: 0, unchanged: 0, refused };
      const seen = new Map<string, number>();
      for (const e of entries) {
        const refuse = (error: string) => void report.refused.push({ line: e.line, error });
        const login = e.login.includes('@') || !qualify ? e.login : `${e.login}@${qualify}`;
        const parsed = parseAddress(login);
        if (!parsed) {
          refuse(
            e.login.includes('@') ? `not a valid address: ${e.login}` : `${e.login} is not an address: give --domain for bare user names`,
          );
          continue;
        }
        const key = addressKey(login)!;
        if (seen.has(key)) {
          refuse(`${key} appears again (first on line ${seen.get(key)})`);
          continue;
        }
        seen.set(key, e.line);
        const hash = parseStoredHash(e.secret);
        if (!hash.ok) {
          refuse(`${key}: ${hash.error}`);
          continue;
        }
        const domain = await store.domains.get(parsed.domain);
        if (!domain || !sees(scope, domain.customerId)) {
          refuse(`${key}: the domain ${parsed.domain} is not hosted here`);
          continue;
        }
        const existing = await store.mailboxes.get(key);
        if (!existing) {
          await store.mailboxes
            .add({
              address: key,
              domainId: domain.id,
              customerId: domain.customerId,
              passwordHash: hash.hash,
              source: 'import',
              importedHash: hash.hash,
            })
            .then(
              () => report.added++,
              (err) => (err instanceof StoreError && err.kind === 'conflict' ? refuse(`${key} was added meanwhile`) : Promise.reject(err)),
            );
          continue;
        }
        if (existing.importedHash === hash.hash || existing.passwordHash === hash.hash) {
          report.unchanged++;
          continue;
        }
        await store.mailboxes.importHash(key, hash.hash);
        await store.consoleSessions.removeSubject('mailbox', key);
        report.updated++;
      }
      report.refused.sort((a, b) => a.line - b.line);
      return report;
    },

    /**
     * Send-as grants from a Postfix smtpd_sender_login_maps file: `ADDRESS  login1, login2` (an
     * address may be `@domain` for the whole domain). Each login must be a mailbox of the same
     * customer as the address; a line that would cross customers is refused whole.
     */
    async importGrants(text: string, scope?: TenantScope): Promise<ImportReport> {
      const report: ImportReport = { added: 0, updated: 0, unchanged: 0, refused: [] };
      for (const { line, text: raw } of logicalLines(text)) {
        const refuse = (error: string) => void report.refused.push({ line, error });
        const m = /^(\S+)\s+(.+)$/.exec(raw);
        if (!m) {
          refuse('expected ADDRESS  LOGIN[, LOGIN ...]');
          continue;
        }
        const target = m[1]!;
        const logins = m[2]!.split(/[\s,]+/).filter(Boolean);
        const wholeDomain = target.startsWith('@');
        const domainName = wholeDomain ? normalizeDomain(target.slice(1)) : domainOf(target);
        const address = wholeDomain ? null : addressKey(target);
        if (!domainName || (!wholeDomain && !address)) {
          refuse(`not an address or @domain: ${target}`);
          continue;
        }
        const domain = await store.domains.get(domainName);
        if (!domain || !sees(scope, domain.customerId)) {
          refuse(`${target}: the domain ${domainName} is not hosted here`);
          continue;
        }
        const mailboxes: Mailbox[] = [];
        let bad: string | null = null;
        for (const l of logins) {
          const key = addressKey(l);
          const mb = key ? await store.mailboxes.get(key) : null;
          if (!mb || !sees(scope, mb.customerId)) {
            bad = `no mailbox ${l}`;
            break;
          }
          if (mb.customerId !== domain.customerId) {
            bad = `${mb.address} (customer ${mb.customerName}) may not send as ${target} (customer ${domain.customerName})`;
            break;
          }
          mailboxes.push(mb);
        }
        if (bad) {
          refuse(bad);
          continue;
        }
        for (const mb of mailboxes) {
          if (address === mb.address) {
            report.unchanged++;
            continue;
          } // its own address: always allowed
          const added = await store.grants.add({
            mailboxId: mb.id,
            kind: wholeDomain ? 'domain' : 'address',
            value: wholeDomain ? domainName : address!,
          });
          if (added) report.added++;
          else report.unchanged++;
        }
      }
      return report;
    },
  };
}

/** What the audit trail records of an import: how many mailboxes came from imports, and how many grants there are, before and after. */
export const importOperations = {
  importMailboxes: audit('importMailboxes', {
    target: () => 'import:mailboxes',
    snapshot: async (s) => ({ imported: (await s.mailboxes.list()).filter((m) => m.source === 'import').length }),
  }),
  importGrants: audit('importGrants', {
    target: () => 'import:grants',
    snapshot: async (s) => ({
      grants: (await Promise.all((await s.mailboxes.list()).map((m) => s.grants.list(m.id)))).reduce((n, g) => n + g.length, 0),
    }),
  }),
} satisfies Declarations<ReturnType<typeof createImportService>>;

/**
 * The logical lines of a Postfix table file: blank lines and # comments are skipped, and a line
 * that starts with whitespace continues the one before (postmap's rule); each keeps the number
 * of its first physical line.
 */
export function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim() || raw.trimStart().startsWith('#')) return;
    const last = out.at(-1);
    if (/^\s/.test(raw) && last) last.text += ` ${raw.trim()}`;
    else out.push({ line: i + 1, text: raw.trim() });
  });
  return out;
}

/** How a report reads in CLI output. */
export function describeImport(r: ImportReport): string {
  const head = `added ${r.added}, updated ${r.updated}, unchanged ${r.unchanged}, refused ${r.refused.length}`;
  return [head, ...r.refused.map((x) => `line ${x.line}: ${x.error}`)].join('\n');
}
