/**
 * MTA-STS (RFC 8461) policies for outbound delivery: looks up the `_mta-sts.DOMAIN` TXT id
 * through the configured DNS servers, fetches the policy file over HTTPS (certificate
 * validated, no redirects, 10 s, 64 KiB), parses it with mailauth, and caches it per domain for
 * its max_age (bounded count), fetching again only when the TXT id changes or the policy expired.
 * It never connects to an MX and never decides delivery: callers apply `mode` and `mxAllowed`.
 * It never throws: when DNS or the fetch fails, the cached policy is used while it has not
 * expired (RFC 8461 section 3.3), otherwise null ("no policy"); every failure goes to onError.
 *
 * From mailauth we use resolvePolicy (TXT record parsing, given our resolver) and parsePolicy.
 * We do not use its getPolicy, fetchPolicy or validateMx (mailauth 4.13.3):
 * - getPolicy's renewal test is inverted: a fresh cached policy with the same id is fetched
 *   again (and dropped when that fetch finds nothing), an expired one is renewed unfetched;
 * - fetchPolicy does its own A/AAAA lookup, connects to the first address on port 443 with a
 *   15 s timeout and no size limit, and cannot be given a policy text;
 * - validateMx matches "*.example.com" against any depth (a.b.example.com), against RFC 8461 4.1.
 */
import { Resolver } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import https from 'node:https';
import { domainToASCII } from 'node:url';
import { parsePolicy, resolvePolicy } from 'mailauth/lib/mta-sts.js';

export interface MtaStsPolicy {
  mode: 'enforce' | 'testing' | 'none';
  mx: string[];
  maxAge: number;
  id: string;
}

export interface MtaSts {
  /** The domain's policy, cached (per policy max_age, bounded count) and refreshed when the _mta-sts TXT id changes; null when the domain has none. Never throws: a lookup failure returns the cached policy if any, else null (and logs via the optional onError). */
  policyFor(domain: string): Promise<MtaStsPolicy | null>;
}

export type PolicyFetcher = (domain: string) => Promise<string | null>;

export interface MtaStsOptions {
  /** DNS servers as "host:port" ("127.0.0.1:5353", "[::1]:5353") or bare addresses; [] = system. */
  dnsServers: string[];
  /** Returns the policy file text (null: none published). Default: httpsPolicyFetcher. */
  fetchPolicy?: PolicyFetcher;
  now?: () => number;
  /** Most domains kept in the cache (default 10,000); the least recently used go first. */
  maxEntries?: number;
  onError?: (domain: string, err: Error) => void;
  /** Timeout of a DNS query's first try (default 2000 ms, 2 tries). */
  dnsTimeoutMs?: number;
}

const WELL_KNOWN = '/.well-known/mta-sts.txt';
const FETCH_TIMEOUT_MS = 10_000;
const MAX_POLICY_BYTES = 64 * 1024;
/** After a failed fetch for an id, that id is not fetched again for this long (RFC 8461 3.3). */
const RETRY_FAILED_FETCH_MS = 5 * 60_000;

interface Entry {
  policy: MtaStsPolicy;
  expiresAt: number;
}
interface FailedFetch {
  id: string;
  retryAt: number;
}

export function createMtaSts(opts: MtaStsOptions): MtaSts {
  const resolver = new Resolver({ timeout: opts.dnsTimeoutMs ?? 2000, tries: 2 });
  // Node's setServers takes "host:port", "[v6]:port" and bare addresses as they are; like mx.ts,
  // an empty list keeps the system's resolvers.
  if (opts.dnsServers.length) resolver.setServers(opts.dnsServers);
  const fetchPolicy = opts.fetchPolicy ?? httpsPolicyFetcher({ resolver });
  const now = opts.now ?? Date.now;
  const max = Math.max(1, opts.maxEntries ?? 10_000);
  const cache = new Map<string, Entry>();
  const failed = new Map<string, FailedFetch>();
  const pending = new Map<string, Promise<MtaStsPolicy | null>>();
  const txt = (name: string, type: string) => resolver.resolve(name, type) as Promise<string[][]>;

  const report = (domain: string, err: unknown): void => {
    try {
      opts.onError?.(domain, err instanceof Error ? err : new Error(String(err)));
    } catch {
      /* a failing logger must not turn into a failed delivery */
    }
  };

  /** The cached policy while it has not expired; an expired one is forgotten. */
  const fresh = (domain: string): MtaStsPolicy | null => {
    const entry = cache.get(domain);
    if (!entry) return null;
    if (entry.expiresAt <= now()) {
      cache.delete(domain);
      return null;
    }
    remember(cache, domain, entry, max); // most recently used last
    return entry.policy;
  };

  const lookup = async (domain: string): Promise<MtaStsPolicy | null> => {
    const cached = fresh(domain);
    let id: string | false;
    try {
      id = await resolvePolicy(domain, { resolver: txt });
    } catch (err) {
      report(domain, err); // SERVFAIL, timeout, several v=STSv1 records
      return cached;
    }
    // No TXT record: a fresh cached policy still holds, so stripping the record does not help an attacker.
    if (!id) return cached;
    if (cached?.id === id) return cached;
    const miss = failed.get(domain);
    if (miss?.id === id && miss.retryAt > now()) return cached;
    try {
      const text = await fetchPolicy(domain);
      if (text === null) throw new Error(`_mta-sts.${domain} has id ${id} but no policy file is published`);
      const policy = toPolicy(text, id);
      remember(cache, domain, { policy, expiresAt: now() + policy.maxAge * 1000 }, max);
      failed.delete(domain);
      return policy;
    } catch (err) {
      report(domain, err);
      remember(failed, domain, { id, retryAt: now() + RETRY_FAILED_FETCH_MS }, max);
      return cached;
    }
  };

  return {
    async policyFor(input) {
      const domain = normalizeDomain(input);
      if (!domain) return null;
      const running = pending.get(domain);
      if (running) return running;
      const p = lookup(domain)
        .catch((err: unknown) => {
          report(domain, err);
          return null;
        })
        .finally(() => pending.delete(domain));
      pending.set(domain, p);
      return p;
    },
  };
}

/** Parses a policy file with mailauth, plus what it lets through (max_age "1e3", "1.5", ""). */
function toPolicy(text: string, id: string): MtaStsPolicy {
  const parsed = parsePolicy(text);
  const rawAge = [...text.matchAll(/^[ \t]*max_age[ \t]*:[ \t]*(.*?)[ \t]*\r?$/gim)].at(-1)?.[1] ?? '';
  if (!/^\d{1,10}$/.test(rawAge)) throw new Error(`invalid max_age "${rawAge}" in MTA-STS policy`);
  return { mode: parsed.mode, mx: parsed.mx ?? [], maxAge: parsed.maxAge ?? 0, id };
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value!);
}

function normalizeDomain(input: string): string {
  const raw = input.trim().replace(/\.$/, '');
  if (!raw || raw.startsWith('[')) return ''; // address literals have no policy
  const ascii = domainToASCII(raw).toLowerCase();
  return ascii.length <= 253 ? ascii : '';
}

/** true when the MX host name matches one of the policy's mx patterns (exact, or "*.example.com" matching exactly one left-most label), case-insensitive, trailing dot ignored. */
export function mxAllowed(policy: MtaStsPolicy, mxHost: string): boolean {
  const host = normalizeDomain(mxHost);
  if (!host) return false;
  return policy.mx.some((raw) => {
    const pattern = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!pattern.startsWith('*.')) return pattern === host;
    const suffix = pattern.slice(1); // ".example.com"
    const label = host.slice(0, -suffix.length);
    return host.endsWith(suffix) && label.length > 0 && !label.includes('.');
  });
}

export interface HttpsFetcherOptions {
  /** Resolves mta-sts.DOMAIN through these DNS servers; the system resolver when absent. */
  resolver?: Resolver;
  /** For tests: another port than 443, and a trusted CA (the system CAs otherwise). */
  port?: number;
  ca?: string | Buffer;
  timeoutMs?: number;
  maxBytes?: number;
}

/** GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt: 200 only, redirects not followed, certificate checked. */
export function httpsPolicyFetcher(o: HttpsFetcherOptions = {}): PolicyFetcher {
  const limit = o.maxBytes ?? MAX_POLICY_BYTES;
  return (domain) =>
    new Promise<string>((resolve, reject) => {
      const host = `mta-sts.${domain}`;
      const url = `https://${host}${WELL_KNOWN}`;
      const fail = (text: string) => {
        reject(new Error(`${url}: ${text}`));
        req.destroy();
      };
      const timer = setTimeout(
        () => fail(`no complete answer within ${o.timeoutMs ?? FETCH_TIMEOUT_MS} ms`),
        o.timeoutMs ?? FETCH_TIMEOUT_MS,
      );
      const req = https.get(
        {
          host,
          servername: host,
          port: o.port ?? 443,
          path: WELL_KNOWN,
          ca: o.ca,
          rejectUnauthorized: true,
          agent: false,
          ...(o.resolver ? { lookup: resolverLookup(o.resolver) } : {}),
        },
        (res) => {
          if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode}`);
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > limit) fail(`policy larger than ${limit} bytes`);
            else chunks.push(chunk);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('close', () => {
            if (!res.complete) fail('connection closed before the policy was complete');
          });
        },
      );
      req.on('error', (err) => reject(new Error(`${url}: ${err.message}`, { cause: err })));
      req.on('close', () => clearTimeout(timer));
    });
}

/** A `lookup` for https.get that asks our Resolver (A first, then AAAA) instead of getaddrinfo. */
function resolverLookup(resolver: Resolver) {
  return (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    const lookups = [() => resolver.resolve4(hostname), () => resolver.resolve6(hostname)] as const;
    (async () => {
      const found: LookupAddress[] = [];
      const want = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
      for (const [i, query] of lookups.entries()) {
        const family = i === 0 ? 4 : 6;
        if (want !== 0 && want !== family) continue;
        const addresses = await query().catch(() => [] as string[]);
        found.push(...addresses.map((address) => ({ address, family })));
        if (found.length && !options.all) break;
      }
      if (!found.length) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
      return found;
    })().then(
      (found) => (options.all ? callback(null, found) : callback(null, found[0]!.address, found[0]!.family)),
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
