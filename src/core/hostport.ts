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

/**
 * The key of a client address for bans and failure counts: the address itself for IPv4, its
 * /64 for IPv6 (one subscriber's network: changing the address within it evades nothing).
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...(ip.includes('::') ? Array(8 - h.length - t.length).fill('0') : []), ...t];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** The network a login is remembered by (known addresses): the /24 of IPv4, the /64 of IPv6. */
export function loginNetwork(ip: string): string {
  const key = clientKey(ip);
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.\d+$/.exec(key);
  return v4 ? `${v4[1]}.${v4[2]}.${v4[3]}.0/24` : key;
}
