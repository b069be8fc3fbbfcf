/**
 * MX resolution (RFC 5321 section 5.1, RFC 7505) with a configurable resolver: the MX hosts of a
 * domain in preference order (random among equals), each with its IPv6 and IPv4 addresses;
 * implicit MX (the domain's own A/AAAA) when it has no MX; null MX, NXDOMAIN and "no usable
 * address" fail; SERVFAIL, timeouts and refusals defer. Loopback and private addresses are
 * dropped unless allowed. Never throws: every outcome is an MxResult whose text says why.
 */
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { domainToASCII } from 'node:url';

export interface MxHost {
  name: string;
  preference: number;
  /** IPv6 addresses first, then IPv4, in the order DNS gave them. */
  addresses: string[];
  /** True when the host is not from an MX record (implicit MX, or an address literal). */
  implicit: boolean;
}

export type MxResult = { kind: 'hosts'; hosts: MxHost[] } | { kind: 'fail' | 'defer'; code: number; enhanced: string; text: string };

export interface MxResolverOptions {
  /** DNS servers as "host:port" ("127.0.0.1:5353", "[::1]:5353") or bare addresses. */
  servers: string[];
  /**
   * Timeout of a query's first try; c-ares doubles it for each further try (measured: 200 ms
   * gives up after ~0.4 s with 1 try, ~0.8 s with 2). The MX lookup and the address lookups
   * run one after the other, so a resolve() may take twice that.
   */
  timeoutMs: number;
  tries?: number;
  allowLoopback: boolean;
  allowPrivate: boolean;
  /** At most this many MX hosts are looked up and returned (default 10). */
  maxHosts?: number;
  /** Orders MX hosts of equal preference; Math.random by default. */
  random?: () => number;
}

export interface MxResolver {
  resolve(domain: string): Promise<MxResult>;
  /**
   * The addresses of one named host (a route or smarthost: no MX lookup), as one implicit host.
   * The operator chose it, so loopback and private addresses are allowed.
   */
  resolveHost(name: string): Promise<MxResult>;
}

type Failure = Extract<MxResult, { kind: 'fail' | 'defer' }>;
type AddressClass = 'public' | 'loopback' | 'private' | 'reserved';

const fail = (enhanced: string, text: string): Failure => ({ kind: 'fail', code: 550, enhanced, text });
const defer = (text: string): Failure => ({ kind: 'defer', code: 451, enhanced: '4.4.3', text });

/** Address ranges that are not the public internet. Data, not code. */
const RANGES: [Exclude<AddressClass, 'public'>, string, number, 'ipv4' | 'ipv6'][] = [
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['loopback', '::1', 128, 'ipv6'],
  ['private', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['private', '169.254.0.0', 16, 'ipv4'],
  ['private', '::', 128, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['private', 'fe80::', 10, 'ipv6'],
  ['reserved', '224.0.0.0', 3, 'ipv4'], // multicast, class E, broadcast
  ['reserved', 'ff00::', 8, 'ipv6'],
];

const BLOCKS = new Map<AddressClass, net.BlockList>();
for (const [cls, prefix, bits, family] of RANGES) {
  if (!BLOCKS.has(cls)) BLOCKS.set(cls, new net.BlockList());
  BLOCKS.get(cls)!.addSubnet(prefix, bits, family);
}

export function classifyAddress(address: string): AddressClass {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const family = net.isIPv4(ip) ? 'ipv4' : 'ipv6';
  for (const [cls, block] of BLOCKS) if (block.check(ip, family)) return cls;
  return 'public';
}

function allowed(cls: AddressClass, opts: MxResolverOptions): boolean {
  if (cls === 'public') return true;
  if (cls === 'loopback') return opts.allowLoopback;
  if (cls === 'private') return opts.allowPrivate;
  return false;
}

/** DNS error codes that mean "this name or record does not exist" (all others are temporary). */
const ABSENT = new Set(['ENODATA', 'ENOTFOUND', 'EBADNAME']);

type Lookup = { addresses: string[] } | { absent: true } | { temporary: string };

interface Ctx {
  opts: MxResolverOptions;
  resolver: Resolver;
}

export function createMxResolver(opts: MxResolverOptions): MxResolver {
  const resolver = new Resolver({ timeout: opts.timeoutMs, tries: opts.tries ?? 2 });
  if (opts.servers.length) resolver.setServers(opts.servers); // none: the system's resolvers
  const ctx: Ctx = { opts, resolver };
  const chosen: Ctx = { resolver, opts: { ...opts, allowLoopback: true, allowPrivate: true } };
  return {
    resolve: (domain) => resolveDomain(ctx, domain),
    resolveHost: async (name) =>
      net.isIP(name) ? literalHost(chosen, `[${net.isIPv6(name) ? 'IPv6:' : ''}${name}]`) : implicitHost(chosen, name.toLowerCase()),
  };
}

async function resolveDomain(ctx: Ctx, input: string): Promise<MxResult> {
  const raw = input.trim();
  if (raw.startsWith('[')) return literalHost(ctx, raw);
  const domain = domainToASCII(raw.replace(/\.$/, '')).toLowerCase();
  if (!domain || domain.length > 253) return fail('5.1.2', `invalid domain "${raw}"`);
  try {
    const records = await ctx.resolver.resolveMx(domain);
    return await mxHosts(ctx, domain, records);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENODATA') return implicitHost(ctx, domain);
    if (code === 'ENOTFOUND' || code === 'EBADNAME') return fail('5.1.2', `domain ${domain} does not exist (NXDOMAIN)`);
    return defer(`MX lookup for ${domain} failed temporarily (${code})`);
  }
}

/** "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3): used as-is, never resolved. */
function literalHost(ctx: Ctx, raw: string): MxResult {
  const inner = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(raw)?.[1] ?? '';
  if (/^\[ipv6:/i.test(raw) ? !net.isIPv6(inner) : !net.isIP(inner)) return fail('5.1.2', `invalid address literal ${raw}`);
  const host: MxHost = { name: raw, preference: 0, addresses: [inner], implicit: true };
  return finish(ctx, raw, [{ host, lookup: { addresses: [inner] } }]);
}

async function implicitHost(ctx: Ctx, domain: string): Promise<MxResult> {
  const host: MxHost = { name: domain, preference: 0, addresses: [], implicit: true };
  return finish(ctx, domain, [{ host, lookup: await lookupAddresses(ctx, domain) }]);
}

async function mxHosts(ctx: Ctx, domain: string, records: { exchange: string; priority: number }[]): Promise<MxResult> {
  const real = records.filter((r) => !isNullExchange(r.exchange));
  if (records.length > 0 && real.length === 0) return fail('5.1.10', `${domain} does not accept mail (null MX)`);
  if (real.length === 0) return implicitHost(ctx, domain);
  const ordered = orderRecords(real, ctx.opts.random ?? Math.random).slice(0, ctx.opts.maxHosts ?? 10);
  const looked = await Promise.all(
    ordered.map(async (r) => ({
      host: { name: r.exchange, preference: r.priority, addresses: [], implicit: false } as MxHost,
      lookup: await lookupAddresses(ctx, r.exchange),
    })),
  );
  return finish(ctx, domain, looked);
}

function isNullExchange(exchange: string): boolean {
  return exchange === '' || exchange === '.';
}

/** Preference order, shuffled within each preference, each host name once. */
export function orderRecords<T extends { exchange: string; priority: number }>(records: T[], random: () => number): T[] {
  const seen = new Set<string>();
  const unique = records.filter((r) => {
    const name = r.exchange.toLowerCase().replace(/\.$/, '');
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
  const keyed = unique.map((r) => ({ r, key: random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.key - b.key);
  return keyed.map((k) => k.r);
}

/** AAAA and A together: addresses if either has some, else absent or temporary. */
async function lookupAddresses(ctx: Ctx, name: string): Promise<Lookup> {
  const [v6, v4] = await Promise.allSettled([ctx.resolver.resolve6(name), ctx.resolver.resolve4(name)]);
  const addresses = [v6, v4].flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  if (addresses.length) return { addresses };
  const codes = [v6, v4].flatMap((r) => (r.status === 'rejected' ? [errorCode(r.reason)] : []));
  const temporary = codes.find((c) => !ABSENT.has(c));
  return temporary ? { temporary } : { absent: true };
}

interface Looked {
  host: MxHost;
  lookup: Lookup;
}

/** Keeps the hosts with usable addresses; otherwise says why there are none. */
function finish(ctx: Ctx, domain: string, looked: Looked[]): MxResult {
  const hosts: MxHost[] = [];
  const dropped: string[] = [];
  for (const { host, lookup } of looked) {
    if (!('addresses' in lookup)) continue;
    const usable = lookup.addresses.filter((a) => {
      const cls = classifyAddress(a);
      if (!allowed(cls, ctx.opts)) dropped.push(`${host.name} ${a} is ${cls}`);
      return allowed(cls, ctx.opts);
    });
    if (usable.length) hosts.push({ ...host, addresses: usable });
  }
  if (hosts.length) return { kind: 'hosts', hosts };
  return noHosts(domain, looked, dropped);
}

function noHosts(domain: string, looked: Looked[], dropped: string[]): Failure {
  const temporary = looked.flatMap(({ lookup }) => ('temporary' in lookup ? [lookup.temporary] : []));
  if (temporary.length) return defer(`address lookup for the mail hosts of ${domain} failed temporarily (${temporary[0]})`);
  if (dropped.length) {
    const more = dropped.length > 3 ? ` and ${dropped.length - 3} more` : '';
    return fail('5.4.4', `no usable address for ${domain}: ${dropped.slice(0, 3).join(', ')}${more} (not allowed)`);
  }
  if (looked.every(({ host }) => host.implicit)) return fail('5.1.2', `${domain} has no MX and no address records`);
  return fail('5.4.4', `no MX host of ${domain} has an address`);
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}
