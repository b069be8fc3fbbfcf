/**
 * DKIM and domain health, for the admin service: keys made with each new domain, `dkim show`
 * (the records to publish), `dkim rotate`, `dkim activate` and `domain check`. Key material
 * never leaves: show lists public keys and records only.
 */
import type { Config } from '../config/index.ts';
import type { SecretBox } from '../credentials/index.ts';
import type { Store } from '../store/index.ts';
import {
  checkDomain,
  checkPool,
  createDkimService,
  createDnsLookup,
  dkimRecordName,
  dkimRecordValue,
  DkimError,
  zoneQuoted,
  type CheckReport,
  type DkimAlgorithm,
  type DkimService,
  type DnsLookup,
} from '../dkim/index.ts';
import { normalizeDomain, type DkimKey } from '../core/index.ts';
import { domainRecords, outgoingOf, type ClientSettings, type DnsRecord } from '../clientsetup/index.ts';
import { AdminError, missing, sees, type TenantScope } from './errors.ts';
import { audit, read, unaudited, DKIM, type Declarations } from './audit.ts';

export interface DkimAdminOptions {
  enabled: boolean;
  service: DkimService;
  lookup: () => DnsLookup;
  sendingIps: string[];
  heloName: string;
  /** What mail programs are told (from the configured listeners), for `domain dns`. */
  clients: ClientSettings;
  /** Egress pools (delivery.pools): a domain whose mail leaves from a pool is checked against the pool's addresses and HELO. */
  pools?: { pools: Record<string, { addresses: string[]; helo: string }>; defaultPool: string | null };
}

/** The DKIM options of the admin service, from the configuration. */
export function dkimAdminOptions(config: Config, store: Store, secrets: () => SecretBox, now: () => number): DkimAdminOptions {
  let lookup: DnsLookup | null = null;
  const lazyLookup = () =>
    (lookup ??= createDnsLookup({ servers: config.dns.servers, timeoutMs: config.dns.timeoutMs, tries: config.dns.tries }));
  return {
    enabled: config.dkim.enabled,
    service: createDkimService({ store, secrets, now, lookup: lazyLookup, policy: config.dkim }),
    lookup: lazyLookup,
    sendingIps: config.delivery.publicAddresses,
    heloName: config.hostname,
    pools: { pools: config.delivery.pools, defaultPool: config.delivery.defaultPool ?? null },
    clients: {
      provider: config.clients.provider ?? config.hostname,
      webHost: config.clients.webHost ?? config.clients.host ?? config.hostname,
      webPort: config.web.port,
      outgoing: outgoingOf(config.clients.host ?? config.hostname, config.listeners),
      incoming: config.clients.incoming,
    },
  };
}

export interface DkimRecordView {
  selector: string;
  algorithm: DkimAlgorithm;
  state: DkimKey['state'];
  createdAt: number;
  activatedAt: number | null;
  retiringAt: number | null;
  name: string;
  value: string;
  zone: string;
}

const view = (k: DkimKey): DkimRecordView => {
  const value = dkimRecordValue(k.algorithm, k.publicKey);
  const name = dkimRecordName(k.selector, k.domain);
  return {
    selector: k.selector,
    algorithm: k.algorithm,
    state: k.state,
    createdAt: k.createdAt,
    activatedAt: k.activatedAt,
    retiringAt: k.retiringAt,
    name,
    value,
    zone: `${name}. IN TXT ${zoneQuoted(value)}`,
  };
};

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DkimError) throw new AdminError(err.message);
    throw err;
  }
}

export function createDkimAdmin(store: Store, opts: DkimAdminOptions | undefined) {
  const need = (): DkimAdminOptions => {
    if (!opts) throw new AdminError('DKIM is not available here (no configuration)');
    return opts;
  };
  const domainName = async (input: string, scope?: TenantScope): Promise<string> => {
    const d = normalizeDomain(input);
    const domain = d ? await store.domains.get(d) : null;
    if (!domain || !sees(scope, domain.customerId)) throw missing(`no hosted domain ${input}`);
    return domain.name;
  };
  /** The pool a domain's mail (as sender, not from a site) leaves from, or null. */
  const poolOfDomain = async (d: string): Promise<{ name: string; addresses: string[]; helo: string } | null> => {
    const settings = opts?.pools;
    if (!settings || !Object.keys(settings.pools).length) return null;
    const domain = await store.domains.get(d);
    const name =
      (domain ? await store.pools.poolFor({ customerId: domain.customerId, senderDomain: d, siteId: null }) : null) ?? settings.defaultPool;
    const p = name ? settings.pools[name] : undefined;
    return name && p ? { name, addresses: p.addresses, helo: p.helo } : null;
  };
  return {
    /** Makes the first keys of a new domain (when DKIM is enabled). */
    async createDomainKeys(domain: string): Promise<DkimKey[]> {
      if (!opts?.enabled) return [];
      return guard(() => opts.service.createKeys(domain));
    },
    async showDkim(input: string, scope?: TenantScope): Promise<DkimRecordView[]> {
      const d = await domainName(input, scope);
      return (await store.dkim.list(d)).filter((k) => k.state !== 'retired').map(view);
    },
    async rotateDkim(input: string, algorithm?: string): Promise<DkimRecordView[]> {
      const d = await domainName(input);
      const only =
        algorithm === undefined ? undefined : algorithm === 'rsa' ? 'rsa-sha256' : algorithm === 'ed25519' ? 'ed25519-sha256' : null;
      if (only === null) throw new AdminError(`--algorithm must be rsa or ed25519: ${algorithm}`);
      return (await guard(() => need().service.rotate(d, only))).map(view);
    },
    async activateDkim(input: string, force = false): Promise<{ activated: DkimRecordView[]; retiring: DkimRecordView[] }> {
      const d = await domainName(input);
      const r = await guard(() => need().service.activate(d, { force }));
      return { activated: r.activated.map(view), retiring: r.retiring.map(view) };
    },
    /** Every record the domain needs: client discovery (SRV, autoconfig, autodiscover), DKIM, SPF, DMARC. */
    async domainDns(input: string, scope?: TenantScope): Promise<DnsRecord[]> {
      const d = await domainName(input, scope);
      const o = need();
      return domainRecords({ domain: d, clients: o.clients, keys: await store.dkim.list(d), sendingIps: o.sendingIps });
    },
    /** The live DNS health of a domain (a scope sees only its own domains; another's is missing). */
    async checkDomain(input: string, scope?: TenantScope): Promise<CheckReport> {
      const d = await domainName(input, scope);
      const o = need();
      const keys = (await store.dkim.list(d)).filter(
        (k): k is DkimKey & { state: 'pending' | 'active' | 'retiring' } => k.state !== 'retired',
      );
      const pool = await poolOfDomain(d);
      if (!pool) return checkDomain({ domain: d, keys, sendingIps: o.sendingIps, heloName: o.heloName, lookup: o.lookup() });
      const report = await checkDomain({ domain: d, keys, sendingIps: pool.addresses, heloName: pool.helo, lookup: o.lookup() });
      report.items.unshift({
        id: 'pool',
        status: 'ok',
        summary: `mail of ${d} leaves from egress pool ${pool.name} (${pool.addresses.join(', ')}, HELO ${pool.helo}): SPF, PTR and HELO are checked for it`,
      });
      return report;
    },
    /** An egress pool's PTR (forward-confirmed, matching its HELO), HELO and the SPF of every domain sending from it. */
    async checkPool(name: string): Promise<CheckReport> {
      const o = need();
      const p = o.pools?.pools[name];
      if (!p) throw missing(`no egress pool named ${name} in delivery.pools`);
      const domains: string[] = [];
      for (const dm of await store.domains.list()) if ((await poolOfDomain(dm.name))?.name === name) domains.push(dm.name);
      return checkPool({ pool: name, addresses: p.addresses, heloName: p.helo, domains, lookup: o.lookup() });
    },
  };
}

/** What the audit trail records of each DKIM operation. */
export const dkimOperations = {
  createDomainKeys: unaudited('the first keys of a domain are made by addDomain, whose record shows them'),
  showDkim: read,
  rotateDkim: audit('rotateDkim', DKIM),
  activateDkim: audit('activateDkim', DKIM),
  domainDns: read,
  checkDomain: read,
  checkPool: read,
} satisfies Declarations<ReturnType<typeof createDkimAdmin>>;
