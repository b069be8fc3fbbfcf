/**
 * Webhooks stay outside: an endpoint's host must be, and resolve only to, public addresses. The
 * host is resolved once per check, every address is checked, and the caller connects to the
 * checked address (so a second lookup cannot switch it: DNS rebinding). Loopback, private,
 * link-local, unique-local, multicast and other special-purpose ranges (RFC 6890) are refused
 * unless the operator allows a network (webhooks.allowNetworks).
 */
import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import type { Config } from '../config/index.ts';
import { networkMatcher } from '../core/index.ts';

/** Special-purpose ranges (RFC 6890 and successors) that are not the public Internet. Data, not code. */
const SPECIAL: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], // "this network"
  ['10.0.0.0', 8, 'ipv4'], // private
  ['100.64.0.0', 10, 'ipv4'], // shared address space (CGNAT)
  ['127.0.0.0', 8, 'ipv4'], // loopback
  ['169.254.0.0', 16, 'ipv4'], // link-local (cloud metadata services)
  ['172.16.0.0', 12, 'ipv4'], // private
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
  ['192.0.2.0', 24, 'ipv4'], // documentation
  ['192.88.99.0', 24, 'ipv4'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'ipv4'], // private
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'], // documentation
  ['203.0.113.0', 24, 'ipv4'], // documentation
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
  ['::', 127, 'ipv6'], // unspecified and loopback
  ['64:ff9b::', 96, 'ipv6'], // NAT64: reaches IPv4 addresses through a translator
  ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64
  ['100::', 64, 'ipv6'], // discard-only
  ['2001::', 23, 'ipv6'], // IETF protocol assignments (Teredo, benchmarking, ORCHID)
  ['2001:db8::', 32, 'ipv6'], // documentation
  ['2002::', 16, 'ipv6'], // 6to4: embeds an IPv4 address
  ['fc00::', 7, 'ipv6'], // unique-local
  ['fe80::', 10, 'ipv6'], // link-local
  ['fec0::', 10, 'ipv6'], // site-local (deprecated)
  ['ff00::', 8, 'ipv6'], // multicast
];

const special = new net.BlockList();
for (const [prefix, bits, family] of SPECIAL) special.addSubnet(prefix, bits, family);

/** The IPv4 address inside an IPv4-mapped IPv6 address, else the address itself. */
function unmapped(ip: string): { ip: string; family: 'ipv4' | 'ipv6' } {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (v4) return { ip: v4, family: 'ipv4' };
  return { ip, family: net.isIPv6(ip) ? 'ipv6' : 'ipv4' };
}

export function isPublicAddress(ip: string): boolean {
  const a = unmapped(ip);
  return !special.check(a.ip, a.family);
}

/** What a customer may be told about a refusal: nothing about the inside. */
export const NOT_PUBLIC = 'refused: not a public address';

export type GuardResult =
  | { ok: true; address: string; family: 4 | 6 }
  /** reason: for the customer; detail: for the operator's log only. */
  | { ok: false; reason: string; detail: string };

export interface EndpointGuard {
  /** Resolves the URL's host once and checks every address it has. */
  check(url: string): Promise<GuardResult>;
}

export interface GuardOptions {
  /** webhooks.allowNetworks: networks the operator lets endpoints reach. */
  allowNetworks: readonly string[];
  /** dns.servers (empty: the system's resolvers), dns.timeoutMs, dns.tries. */
  dns: { servers: readonly string[]; timeoutMs: number; tries: number };
}

export function createEndpointGuard(o: GuardOptions): EndpointGuard {
  const allowed = networkMatcher(o.allowNetworks);
  const resolver = new Resolver({ timeout: o.dns.timeoutMs, tries: o.dns.tries });
  if (o.dns.servers.length) resolver.setServers([...o.dns.servers]);

  async function addressesOf(host: string): Promise<string[]> {
    if (net.isIP(host)) return [host];
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (found.length) return found;
    const err = (v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : null) as NodeJS.ErrnoException | null;
    throw Object.assign(new Error(`${host} has no address${err?.code ? ` (${err.code})` : ''}`), { code: err?.code ?? 'ENODATA' });
  }

  return {
    async check(url) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      let addresses: string[];
      try {
        addresses = await addressesOf(host);
      } catch (err) {
        return { ok: false, reason: 'refused: the host name does not resolve', detail: (err as Error).message };
      }
      const inside = addresses.filter((a) => !isPublicAddress(a) && !allowed(a));
      if (inside.length) return { ok: false, reason: NOT_PUBLIC, detail: `${host} is or resolves to ${inside.join(', ')}` };
      const address = addresses[0]!;
      return { ok: true, address, family: net.isIPv6(address) ? 6 : 4 };
    },
  };
}

/** The guard the configuration asks for: webhooks.allowNetworks, resolved through dns.*. */
export function endpointGuardOf(config: Pick<Config, 'webhooks' | 'dns'>): EndpointGuard {
  return createEndpointGuard({ allowNetworks: config.webhooks.allowNetworks, dns: config.dns });
}
