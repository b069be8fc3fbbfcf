/** "host", "host:port", "[IPv6]" or "[IPv6]:port" parsed and checked (routes, smarthost). */
import net from 'node:net';
import { normalizeDomain } from './address.ts';

export function parseHostPort(input: string, defaultPort: number): { host: string; port: number } | { error: string } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(input) ?? /^([^:]+)(?::(\d+))?$/.exec(input);
  if (!m) return { error: `not a host or host:port: ${input} (write an IPv6 address in brackets: [2001:db8::1]:25)` };
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { error: `port must be 1 to 65535: ${input}` };
  const raw = m[1]!;
  if (net.isIP(raw)) return { host: raw, port };
  if (input.startsWith('[')) return { error: `not an IP address in brackets: ${input}` };
  const host = normalizeDomain(raw);
  if (!host) return { error: `not a valid host name: ${raw}` };
  return { host, port };
}

/** The eight groups of an IPv6 address, lower-case, without leading zeros. */
function ipv6Groups(ip: string): string[] {
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const mid = ip.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...mid, ...t].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/**
 * The network of a client address: IPv4 to its first `v4Octets` octets (4 = the address
 * itself), IPv6 to its first `v6Groups` groups; an IPv4-mapped IPv6 address counts as IPv4.
 */
export function ipNetwork(ip: string, v4Octets: 3 | 4, v6Groups: 3 | 4): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4Octets === 4 ? v4[1]! : `${v4[1]!.split('.').slice(0, 3).join('.')}.0/24`;
  if (!net.isIPv6(ip)) return ip;
  return `${ipv6Groups(ip).slice(0, v6Groups).join(':')}::/${v6Groups * 16}`;
}

/**
 * The key of a client address for bans and failure counts: the address itself for IPv4, its
 * /64 for IPv6 (one subscriber's network: changing the address within it evades nothing).
 */
export const clientKey = (ip: string): string => ipNetwork(ip, 4, 4);

/** The network a login is remembered by (known addresses): the /24 of IPv4, the /64 of IPv6. */
export const loginNetwork = (ip: string): string => ipNetwork(ip, 3, 4);

/**
 * A matcher for IP addresses and CIDR networks ("192.0.2.7", "2001:db8::/32"), entries already
 * validated; an IPv4-mapped IPv6 address matches as its IPv4 address.
 */
export function networkMatcher(entries: readonly string[]): (ip: string) => boolean {
  const list = new net.BlockList();
  for (const e of entries) {
    const [ip = '', bits] = e.split('/');
    const family = net.isIPv6(ip) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip, family);
    else list.addSubnet(ip, Number(bits), family);
  }
  return (ip) => {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    if (v4) return list.check(v4, 'ipv4');
    if (!net.isIP(ip)) return false;
    return list.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4');
  };
}
