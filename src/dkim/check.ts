/**
 * The domain health check: is a hosted domain's DNS ready for the mail Postern sends for it?
 * DKIM records of every key, SPF (evaluated by mailauth for each sending IP), DMARC policy, MX,
 * forward-confirmed reverse DNS of each sending IP, and the HELO name's addresses. Each check
 * gives ok / warn / fail, a one-line summary and, when something is to be fixed, the exact
 * record to publish. A DNS error that is not "no such record" gives warn ("could not check"),
 * never ok.
 */
import net from 'node:net';
import { createRequire } from 'node:module';
import type { DNSResolver } from 'mailauth';

/** mailauth's SPF evaluator (CommonJS, ~90 ms to load): loaded by `domain check` only. */
const loadSpf = () => createRequire(import.meta.url)('mailauth/lib/spf/index.js') as typeof import('mailauth/lib/spf/index.js');
import { dkimRecordName, dkimRecordValue, publishedKey, zoneQuoted, type DkimAlgorithm } from './records.ts';
import type { DnsLookup } from './dns.ts';

export interface CheckKey {
  selector: string;
  algorithm: DkimAlgorithm;
  publicKey: string;
  state: 'pending' | 'active' | 'retiring';
}
export interface CheckInput {
  domain: string;
  keys: CheckKey[];
  sendingIps: string[];
  heloName: string;
  lookup: DnsLookup;
}
export type CheckStatus = 'ok' | 'warn' | 'fail';
export type PublishType = 'TXT' | 'MX' | 'PTR' | 'A' | 'AAAA';
export interface CheckItem {
  id: string;
  status: CheckStatus;
  summary: string;
  detail?: string;
  publish?: { name: string; type: PublishType; value: string };
}
export interface CheckReport {
  domain: string;
  ok: boolean;
  items: CheckItem[];
}

/** A lookup that failed for another reason than "no such name / no such record". */
class DnsTrouble extends Error {
  constructor(
    readonly name: string,
    readonly rrtype: string,
    readonly code: string,
  ) {
    super(`${rrtype} lookup of ${name} failed (${code})`);
  }
}

async function query<T>(lookup: DnsLookup, name: string, rrtype: string): Promise<T[]> {
  try {
    return (await lookup(name, rrtype)) as T[];
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw new DnsTrouble(name, rrtype, typeof code === 'string' ? code : String(err));
  }
}

/** The TXT records at a name, each record's strings joined. */
async function txt(lookup: DnsLookup, name: string): Promise<string[]> {
  return (await query<string[]>(lookup, name, 'TXT')).map((chunks) => chunks.join(''));
}

/** Runs one check; a DNS error that leaves the answer unknown becomes a warning. */
async function guarded(id: string, run: () => Promise<CheckItem>): Promise<CheckItem> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof DnsTrouble)) throw err;
    return { id, status: 'warn', summary: `could not check: ${err.message}`, detail: 'Temporary DNS trouble; run the check again later.' };
  }
}

const bare = (name: string) => name.toLowerCase().replace(/\.$/, '');

// ---- DKIM ----

const KEY_TYPE: Record<DkimAlgorithm, string> = { 'rsa-sha256': 'rsa', 'ed25519-sha256': 'ed25519' };

async function checkDkimKey(i: CheckInput, key: CheckKey): Promise<CheckItem> {
  const id = `dkim:${key.selector}`;
  const name = dkimRecordName(key.selector, i.domain);
  const publish = { name, type: 'TXT' as const, value: dkimRecordValue(key.algorithm, key.publicKey) };
  const want = { k: KEY_TYPE[key.algorithm], p: key.publicKey.replace(/\s+/g, '') };
  const found = (await txt(i.lookup, name)).map(publishedKey).filter((k) => k !== null);
  const match = found.find((f) => f.p === want.p) ?? found[0];
  const label = `DKIM selector ${key.selector} (${key.algorithm}, ${key.state})`;
  if (!match) {
    if (key.state === 'pending')
      return { id, status: 'warn', summary: `${label} is not published yet: publish it before activating`, publish };
    return {
      id,
      status: 'fail',
      summary: `${label} has no record at ${name}`,
      detail: 'Receivers cannot verify mail signed with this selector.',
      publish,
    };
  }
  if (match.p !== want.p) {
    return {
      id,
      status: 'fail',
      summary: `${label}: the record at ${name} does not match the key`,
      detail: 'Wrong key: the published p= is not this key, so signatures with it fail verification.',
      publish,
    };
  }
  if (match.k !== want.k) {
    return { id, status: 'fail', summary: `${label}: the record at ${name} has k=${match.k}, the key is ${want.k}`, publish };
  }
  return { id, status: 'ok', summary: `${label} is published and matches` };
}

function checkDkim(i: CheckInput): Promise<CheckItem>[] {
  if (!i.keys.length) {
    return [
      Promise.resolve({
        id: 'dkim',
        status: 'fail',
        summary: `${i.domain} has no DKIM key: \`postern dkim rotate ${i.domain}\` creates one`,
      }),
    ];
  }
  const items = i.keys.map((key) => guarded(`dkim:${key.selector}`, () => checkDkimKey(i, key)));
  if (!i.keys.some((k) => k.state === 'active')) {
    const pending = i.keys.filter((k) => k.state === 'pending').map((k) => k.selector);
    items.unshift(
      Promise.resolve({
        id: 'dkim',
        status: 'fail',
        summary: `${i.domain} has no active DKIM key: its mail goes out unsigned`,
        detail: pending.length
          ? `Publish the record of ${pending.join(', ')} (below), then run \`postern dkim activate ${i.domain}\` (the server also activates it by itself once DNS shows it).`
          : `\`postern dkim rotate ${i.domain}\` creates one.`,
      }),
    );
  }
  return items;
}

// ---- SPF ----

const SPF_STATUS: Record<string, CheckStatus> = { pass: 'ok', softfail: 'warn', neutral: 'warn' };
const WORST: CheckStatus[] = ['fail', 'warn', 'ok'];
const worst = (all: CheckStatus[]): CheckStatus => WORST.find((s) => all.includes(s)) ?? 'ok';

/** The record with the sending IPs added as ip4:/ip6: mechanisms before its `all`. */
export function suggestSpf(existing: string | undefined, ips: string[]): string {
  const mechanisms = ips.map((ip) => `${net.isIPv6(ip) ? 'ip6' : 'ip4'}:${ip}`);
  if (!existing) return ['v=spf1', ...mechanisms, '~all'].join(' ');
  const terms = existing.trim().split(/\s+/);
  const has = (m: string) => terms.some((t) => t.toLowerCase().replace(/^\+/, '') === m.toLowerCase());
  const at = terms.findIndex((t) => /^[-~?+]?all$/i.test(t));
  terms.splice(at === -1 ? terms.length : at, 0, ...mechanisms.filter((m) => !has(m)));
  return terms.join(' ');
}

async function evaluateSpf(i: CheckInput, ip: string): Promise<{ ip: string; result: string; comment: string }> {
  const { spf } = loadSpf();
  const r = await spf({ sender: `postmaster@${i.domain}`, ip, helo: i.heloName, mta: i.heloName, resolver: i.lookup as DNSResolver });
  return { ip, result: r.status.result, comment: r.status.comment ?? '' };
}

async function checkSpf(i: CheckInput): Promise<CheckItem> {
  const records = (await txt(i.lookup, i.domain)).filter((r) => /^v=spf1(\s|$)/i.test(r));
  const publish = (value: string) => (i.sendingIps.length ? { publish: { name: i.domain, type: 'TXT' as const, value } } : {});
  if (!i.sendingIps.length) {
    const found = records.length ? `SPF record: ${records[0]}` : 'no SPF record';
    return {
      id: 'spf',
      status: 'warn',
      summary: `no sending IPs configured (config key delivery.publicAddresses), nothing evaluated; ${found}`,
    };
  }
  if (!records.length)
    return { id: 'spf', status: 'fail', summary: `${i.domain} has no SPF record`, ...publish(suggestSpf(undefined, i.sendingIps)) };
  if (records.length > 1) {
    return {
      id: 'spf',
      status: 'fail',
      summary: `${i.domain} has ${records.length} SPF records (permerror): keep only one`,
      detail: records.join('\n'),
      ...publish(suggestSpf(records[0], i.sendingIps)),
    };
  }
  const results = await Promise.all(i.sendingIps.map((ip) => evaluateSpf(i, ip)));
  const status = worst(results.map((r) => SPF_STATUS[r.result] ?? 'fail'));
  const detail = results.map((r) => `${r.ip}: ${r.result}${r.comment ? ` (${r.comment})` : ''}`).join('\n');
  const verdicts = [...new Set(results.map((r) => r.result))].join(', ');
  const summary =
    status === 'ok' ? `SPF passes for every sending IP: ${records[0]}` : `SPF result ${verdicts} for the sending IPs: ${records[0]}`;
  return { id: 'spf', status, summary, detail, ...(status === 'ok' ? {} : publish(suggestSpf(records[0], i.sendingIps))) };
}

// ---- DMARC ----

function dmarcTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1)
      tags.set(
        part.slice(0, eq).trim().toLowerCase(),
        part
          .slice(eq + 1)
          .trim()
          .toLowerCase(),
      );
  }
  return tags;
}

async function checkDmarc(i: CheckInput): Promise<CheckItem> {
  const name = `_dmarc.${i.domain}`;
  const publish = { name, type: 'TXT' as const, value: `v=DMARC1; p=none; rua=mailto:postmaster@${i.domain}` };
  const start =
    'p=none is a monitoring start: reports arrive at rua, nothing is rejected; move to quarantine or reject once they look clean.';
  const records = (await txt(i.lookup, name)).filter((r) => /^v=DMARC1\s*(;|$)/i.test(r));
  if (!records.length)
    return { id: 'dmarc', status: 'fail', summary: `${i.domain} has no DMARC record at ${name}`, detail: start, publish };
  if (records.length > 1)
    return {
      id: 'dmarc',
      status: 'fail',
      summary: `${name} has ${records.length} DMARC records: receivers ignore them all`,
      detail: records.join('\n'),
      publish,
    };
  const p = dmarcTags(records[0]!).get('p');
  if (p === 'quarantine' || p === 'reject') return { id: 'dmarc', status: 'ok', summary: `DMARC policy is p=${p}` };
  if (p === 'none')
    return {
      id: 'dmarc',
      status: 'warn',
      summary: 'DMARC policy is p=none: failing mail is only reported, not quarantined or rejected',
      detail: records[0],
    };
  return {
    id: 'dmarc',
    status: 'fail',
    summary: `DMARC record at ${name} has no valid p= tag`,
    detail: `${records[0]}\n${start}`,
    publish,
  };
}

// ---- MX ----

async function checkMx(i: CheckInput): Promise<CheckItem> {
  const mx = await query<{ exchange: string; priority: number }>(i.lookup, i.domain, 'MX');
  if (!mx.length)
    return { id: 'mx', status: 'warn', summary: `${i.domain} has no MX record: the domain cannot receive bounces and replies` };
  if (mx.some((r) => bare(r.exchange) === '')) {
    return {
      id: 'mx',
      status: 'warn',
      summary: `${i.domain} publishes a null MX (RFC 7505): the domain cannot receive bounces and replies`,
    };
  }
  const list = [...mx].sort((a, b) => a.priority - b.priority).map((r) => `${r.priority} ${bare(r.exchange)}`);
  return { id: 'mx', status: 'ok', summary: `MX: ${list.join(', ')}` };
}

// ---- reverse DNS and HELO ----

/** The 32 hex nibbles of an IPv6 address. */
function ipv6Nibbles(ip: string): string {
  let s = ip.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const o = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, v4.index)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/** The in-addr.arpa or ip6.arpa name of an address. */
export function reverseName(ip: string): string {
  if (net.isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  return `${ipv6Nibbles(ip).split('').reverse().join('.')}.ip6.arpa`;
}

const sameIp = (a: string, b: string) => (net.isIPv6(a) && net.isIPv6(b) ? ipv6Nibbles(a) === ipv6Nibbles(b) : a === b);

async function checkPtr(i: CheckInput, ip: string): Promise<CheckItem> {
  const id = `ptr:${ip}`;
  if (!net.isIP(ip)) return { id, status: 'fail', summary: `${ip} is not an IP address (config key delivery.publicAddresses)` };
  const name = reverseName(ip);
  const publish = { name, type: 'PTR' as const, value: i.heloName };
  const family = net.isIPv6(ip) ? 'AAAA' : 'A';
  const ptrs = (await query<string>(i.lookup, name, 'PTR')).map(bare);
  if (!ptrs.length)
    return {
      id,
      status: 'fail',
      summary: `${ip} has no PTR record (${name})`,
      detail: 'Ask the owner of the address block (hosting or ISP) to set it.',
      publish,
    };
  const confirmed: string[] = [];
  for (const ptr of ptrs) {
    if ((await query<string>(i.lookup, ptr, family)).some((a) => sameIp(a, ip))) confirmed.push(ptr);
  }
  if (!confirmed.length) {
    return {
      id,
      status: 'fail',
      summary: `PTR of ${ip} (${ptrs.join(', ')}) does not resolve back to ${ip}`,
      detail: `Forward-confirmed reverse DNS fails: publish ${family} ${ip} for the PTR name, or point the PTR at ${i.heloName}.`,
      publish,
    };
  }
  if (confirmed.includes(bare(i.heloName)))
    return { id, status: 'ok', summary: `${ip} ↔ ${bare(i.heloName)} (forward-confirmed, matches HELO)` };
  return {
    id,
    status: 'warn',
    summary: `PTR of ${ip} is ${confirmed[0]} (forward-confirmed), which differs from the HELO name ${i.heloName}`,
    detail: 'Some receivers expect the PTR name and the HELO name to be the same.',
    publish,
  };
}

async function checkHelo(i: CheckInput): Promise<CheckItem> {
  if (!i.sendingIps.length)
    return {
      id: 'helo',
      status: 'warn',
      summary: `no sending IPs configured (config key delivery.publicAddresses) to compare ${i.heloName} with`,
    };
  const [a, aaaa] = await Promise.all([query<string>(i.lookup, i.heloName, 'A'), query<string>(i.lookup, i.heloName, 'AAAA')]);
  const addresses = [...a, ...aaaa];
  if (addresses.some((addr) => i.sendingIps.some((ip) => sameIp(addr, ip)))) {
    return { id: 'helo', status: 'ok', summary: `HELO name ${i.heloName} resolves to ${addresses.join(', ')}` };
  }
  const ip = i.sendingIps[0]!;
  const got = addresses.length ? `resolves to ${addresses.join(', ')}, none of them` : 'does not resolve to';
  return {
    id: 'helo',
    status: 'fail',
    summary: `HELO name ${i.heloName} ${got} a sending IP (${i.sendingIps.join(', ')})`,
    publish: { name: i.heloName, type: net.isIPv6(ip) ? 'AAAA' : 'A', value: ip },
  };
}

// ---- the report ----

export async function checkDomain(i: CheckInput): Promise<CheckReport> {
  const items = await Promise.all([
    ...checkDkim(i),
    guarded('spf', () => checkSpf(i)),
    guarded('dmarc', () => checkDmarc(i)),
    guarded('mx', () => checkMx(i)),
    ...i.sendingIps.map((ip) => guarded(`ptr:${ip}`, () => checkPtr(i, ip))),
    guarded('helo', () => checkHelo(i)),
  ]);
  return { domain: i.domain, ok: !items.some((x) => x.status === 'fail'), items };
}

/**
 * An egress pool's own check: forward-confirmed PTR of each address matching the pool's HELO
 * name, the HELO name's addresses, and SPF of each domain whose mail leaves from the pool.
 */
export async function checkPool(p: {
  pool: string;
  addresses: string[];
  heloName: string;
  domains: string[];
  lookup: DnsLookup;
}): Promise<CheckReport> {
  const base = { keys: [], sendingIps: p.addresses, heloName: p.heloName, lookup: p.lookup };
  const items = await Promise.all([
    ...p.addresses.map((ip) => guarded(`ptr:${ip}`, () => checkPtr({ ...base, domain: p.heloName }, ip))),
    guarded('helo', () => checkHelo({ ...base, domain: p.heloName })),
    ...p.domains.map((d) => guarded(`spf:${d}`, async () => ({ ...(await checkSpf({ ...base, domain: d })), id: `spf:${d}` }))),
  ]);
  if (!p.domains.length)
    items.push({ id: 'spf', status: 'warn', summary: `no hosted domain sends from pool ${p.pool}: no SPF record to check` });
  return { domain: `pool ${p.pool}`, ok: !items.some((x) => x.status === 'fail'), items };
}

const fqdn = (name: string) => `${bare(name)}.`;

/** One publish suggestion as a zone-file line. */
export function zoneLine(p: NonNullable<CheckItem['publish']>): string {
  const value = p.type === 'TXT' ? zoneQuoted(p.value) : p.type === 'PTR' ? fqdn(p.value) : p.value;
  return `${fqdn(p.name)} IN ${p.type} ${value}`;
}

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

export function formatCheckReport(r: CheckReport): string {
  const count = (s: CheckStatus) => r.items.filter((x) => x.status === s).length;
  const head = `${r.domain}: ${r.ok ? 'ready' : 'NOT ready'} (${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail)`;
  const blocks = r.items.map((x) => {
    const lines = [`[${MARK[x.status]}] ${x.id}: ${x.summary}`];
    for (const d of x.detail?.split('\n') ?? []) lines.push(`       ${d}`);
    if (x.publish) lines.push('       publish:', `         ${zoneLine(x.publish)}`);
    return lines.join('\n');
  });
  return [head, ...blocks].join('\n\n') + '\n';
}
