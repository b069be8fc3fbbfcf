/**
 * A DNS lookup function for the domain health check, through chosen servers (or the system's).
 * Same contract as node's dns.promises.Resolver#resolve(name, rrtype): TXT answers are
 * string[][], MX answers {exchange, priority}[], A/AAAA/PTR string[]; errors carry a `code`
 * (ENOTFOUND, ENODATA, ESERVFAIL, ETIMEOUT, ...). The same function works as mailauth's
 * `resolver` option.
 */
import { Resolver } from 'node:dns/promises';

export type DnsLookup = (name: string, rrtype: string) => Promise<unknown[]>;

export interface DnsLookupOptions {
  /** "127.0.0.1:5353", "[::1]:53" or bare addresses; empty keeps the system's resolvers. */
  servers: string[];
  /** Timeout of a query's first try (c-ares doubles it for each further try). */
  timeoutMs: number;
  tries: number;
}

export function createDnsLookup(o: DnsLookupOptions): DnsLookup {
  const resolver = new Resolver({ timeout: o.timeoutMs, tries: o.tries });
  if (o.servers.length) resolver.setServers(o.servers);
  return (name, rrtype) => resolver.resolve(name, rrtype) as Promise<unknown[]>;
}
