/**
 * Watching our own egress addresses on DNS blocklists: every address of every pool is asked
 * of every configured zone (reversed address + zone, an A lookup); an answer among the zone's
 * configured return codes is a listing, NXDOMAIN is not, any other answer is not a listing
 * either (a list's "query refused" codes) but is logged. Results are kept in the store; a new
 * listing is told through `notify` with the pool's likely senders. Never throws from a check.
 */
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { Store } from '../store/index.ts';
import type { BlocklistResult, TrackingSummary } from '../core/index.ts';

export interface BlocklistZone {
  zone: string;
  codes: Record<string, string>;
}

export interface BlocklistSettings {
  zones: BlocklistZone[];
  pools: Record<string, { addresses: string[] }>;
  defaultPool: string | null;
  senderHours: number;
}

export interface Suspect {
  sender: string;
  customerName: string | null;
  messages: number;
  recipients: number;
}

export interface NewListing {
  listing: BlocklistResult;
  /** The pool's top senders in the hours before. */
  suspects: Suspect[];
  /** Senders whose mail got remote replies naming a blocklist in the hours before. */
  blocked: { sender: string; customerName: string | null; replies: number }[];
}

/** Words of remote replies that name a blocklist (data: lower-case, matched anywhere in the reply). */
export const BLOCKLIST_WORDS = [
  'spamhaus',
  'blocklist',
  'blacklist',
  'block list',
  'black list',
  'dnsbl',
  'rbl',
  'spamcop',
  'barracuda',
  'listed at',
  'listed on',
  'listed in',
];

export type Lookup = (name: string) => Promise<string[]>;

/** The DNSBL query name: reversed IPv4 octets, or reversed IPv6 nibbles, then the zone. */
export function queryName(ip: string, zone: string): string {
  if (net.isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.${zone}`;
  const full = new net.SocketAddress({ address: ip, family: 'ipv6' }).address;
  const groups = expandV6(full);
  return `${groups.join('').split('').reverse().join('.')}.${zone}`;
}

function expandV6(ip: string): string[] {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0'));
}

/** One address in one zone: listed (with codes), not listed, or an error that decides nothing. */
export async function checkOne(
  lookup: Lookup,
  ip: string,
  z: BlocklistZone,
): Promise<{ listed: boolean; codes: string[]; meaning: string | null } | { error: string }> {
  try {
    const answers = await lookup(queryName(ip, z.zone));
    const known = answers.filter((a) => a in z.codes);
    if (!known.length) return { error: `answered ${answers.join(', ')}: none of its configured return codes` };
    return { listed: true, codes: known, meaning: known.map((a) => z.codes[a]).join(', ') };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { listed: false, codes: [], meaning: null };
    return { error: `lookup failed (${code ?? (err as Error).message})` };
  }
}

/** Whether a customer's mail (some or all of it) leaves from a pool. */
async function customersOf(store: Store, pool: string, defaultPool: string | null): Promise<(customer: string | null) => boolean> {
  const assigned = await store.pools.list();
  const customerPool = new Map(assigned.filter((a) => a.kind === 'customer').map((a) => [a.customerName, a.pool]));
  return (c) =>
    c !== null && (assigned.some((a) => a.pool === pool && a.customerName === c) || (pool === defaultPool && !customerPool.has(c)));
}

/** The top senders (tracking) of the customers whose mail leaves from a pool. */
export async function suspectsOf(store: Store, pool: string, defaultPool: string | null, since: number): Promise<Suspect[]> {
  const inPool = await customersOf(store, pool, defaultPool);
  const summary: TrackingSummary = await store.tracking.summary(since, 50);
  return summary.topSenders.filter((s) => inPool(s.customerName)).slice(0, 5);
}

/** Senders of a pool's customers whose mail got remote replies naming a blocklist. */
export async function blockedOf(store: Store, pool: string, defaultPool: string | null, since: number): Promise<NewListing['blocked']> {
  const inPool = await customersOf(store, pool, defaultPool);
  return (await store.tracking.repliesMentioning(since, BLOCKLIST_WORDS, 50)).filter((b) => inPool(b.customerName)).slice(0, 5);
}

export interface BlocklistWatchDeps {
  store: Store;
  settings: BlocklistSettings;
  logger: Logger;
  now: () => number;
  /** A-record lookups (default: a resolver on the configured DNS servers). */
  lookup: Lookup;
  registry?: Registry;
  notify(listings: NewListing[]): Promise<void>;
}

export interface BlocklistWatch {
  /** Checks every pool address in every zone once; returns the new listings. */
  checkAll(): Promise<NewListing[]>;
}

export function resolverLookup(servers: string[], timeoutMs: number, tries: number): Lookup {
  const r = new Resolver({ timeout: timeoutMs, tries });
  if (servers.length) r.setServers(servers);
  return (name) => r.resolve4(name);
}

export function createBlocklistWatch(deps: BlocklistWatchDeps): BlocklistWatch {
  const { settings, store, logger } = deps;
  const gauge = deps.registry
    ? new Gauge({
        name: 'postern_blocklist_listed',
        help: 'Whether an egress address is listed on a DNS blocklist (1) or not (0), by pool, address and zone.',
        labelNames: ['pool', 'address', 'zone'],
        registers: [deps.registry],
      })
    : null;
  return {
    async checkAll() {
      const results: Omit<BlocklistResult, 'listedSince'>[] = [];
      for (const [pool, p] of Object.entries(settings.pools)) {
        for (const address of p.addresses) {
          for (const z of settings.zones) {
            const r = await checkOne(deps.lookup, address, z);
            if ('error' in r) {
              logger.warn({ evt: 'blocklist', pool, address, zone: z.zone, err: r.error }, 'blocklist check decided nothing');
              continue;
            }
            results.push({ address, zone: z.zone, pool, ...r, checkedAt: deps.now() });
            gauge?.set({ pool, address, zone: z.zone }, r.listed ? 1 : 0);
          }
        }
      }
      const fresh = await store.blocklists.record(results);
      const since = deps.now() - settings.senderHours * 3_600_000;
      const out: NewListing[] = [];
      for (const listing of fresh) {
        out.push({
          listing,
          suspects: await suspectsOf(store, listing.pool, settings.defaultPool, since),
          blocked: await blockedOf(store, listing.pool, settings.defaultPool, since),
        });
        logger.error(
          {
            evt: 'blocklist',
            pool: listing.pool,
            address: listing.address,
            zone: listing.zone,
            codes: listing.codes,
            meaning: listing.meaning,
          },
          'an egress address was listed',
        );
      }
      if (out.length) await deps.notify(out);
      return out;
    },
  };
}
