/**
 * Egress pools for the admin service: which customer, hosted domain or site leaves from which
 * pool (the pools themselves are configuration: delivery.pools). A pool must be configured to
 * be assigned; the target must exist. Operators only: a customer does not pick its reputation.
 */
import { normalizeDomain, POOL_TARGETS, type BlocklistResult, type PoolAssignment, type PoolTarget } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { AdminError, missing } from './errors.ts';
import { audit, read, POOL, type Declarations } from './audit.ts';

export interface PoolSettings {
  pools: Record<string, { addresses: string[]; helo: string; select: 'hash' | 'round-robin'; concurrency?: number }>;
  defaultPool: string | null;
}

export interface PoolView {
  name: string;
  addresses: string[];
  helo: string;
  select: 'hash' | 'round-robin';
  concurrency: number | null;
  isDefault: boolean;
  assignments: number;
}

export const publicAssignment = (a: PoolAssignment) => ({
  kind: a.kind,
  name: a.name,
  customer: a.customerName,
  pool: a.pool,
  createdAt: new Date(a.createdAt).toISOString(),
  updatedAt: new Date(a.updatedAt).toISOString(),
});

export const publicListing = (r: BlocklistResult) => ({
  address: r.address,
  zone: r.zone,
  listed: r.listed,
  codes: r.codes,
  meaning: r.meaning,
  checkedAt: new Date(r.checkedAt).toISOString(),
  listedSince: r.listedSince === null ? null : new Date(r.listedSince).toISOString(),
});

/** `--customer C` / `--domain D` / `--site S`: exactly one. */
export function poolTargetOf(o: { customer?: string; domain?: string; site?: string }): { kind: PoolTarget; name: string } {
  const given = POOL_TARGETS.filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw new AdminError('give exactly one of --customer NAME, --domain DOMAIN or --site NAME');
  return { kind: given[0]!, name: o[given[0]!]! };
}

export function createPoolService(store: Store, settings: PoolSettings) {
  const view = (name: string, assignments: number): PoolView => {
    const p = settings.pools[name]!;
    return {
      name,
      addresses: p.addresses,
      helo: p.helo,
      select: p.select,
      concurrency: p.concurrency ?? null,
      isDefault: settings.defaultPool === name,
      assignments,
    };
  };
  function configured(name: string): void {
    if (!(name in settings.pools)) {
      const known = Object.keys(settings.pools);
      throw missing(
        `no egress pool named ${name} in delivery.pools${known.length ? ` (configured: ${known.join(', ')})` : ' (none is configured)'}`,
      );
    }
  }
  /** The target's canonical name and the rows it goes with. */
  async function resolve(kindInput: string, nameInput: string) {
    if (!(POOL_TARGETS as readonly string[]).includes(kindInput))
      throw new AdminError(`the target kind must be one of ${POOL_TARGETS.join(', ')}: ${kindInput}`);
    const kind = kindInput as PoolTarget;
    if (kind === 'customer') {
      const c = await store.customers.get(nameInput);
      if (!c) throw missing(`no customer named ${nameInput}`);
      return { kind, name: c.name, customerId: c.id };
    }
    if (kind === 'domain') {
      const d = normalizeDomain(nameInput);
      const domain = d ? await store.domains.get(d) : null;
      if (!domain) throw missing(`no hosted domain ${nameInput}`);
      return { kind, name: domain.name, customerId: domain.customerId, domainId: domain.id };
    }
    const site = await store.sites.get(nameInput);
    if (!site) throw missing(`no site named ${nameInput}`);
    return { kind, name: site.name, customerId: site.customerId, siteId: site.id };
  }

  return {
    async assignPool(kind: string, name: string, pool: string): Promise<PoolAssignment> {
      configured(pool);
      return store.pools.assign({ ...(await resolve(kind, name)), pool });
    },
    async unassignPool(kind: string, name: string): Promise<boolean> {
      const t = await resolve(kind, name);
      if (!(await store.pools.unassign(t.kind, t.name))) throw missing(`${t.kind} ${t.name} has no pool assigned`);
      return true;
    },
    async listPools(): Promise<PoolView[]> {
      const counts = new Map<string, number>();
      for (const a of await store.pools.list()) counts.set(a.pool, (counts.get(a.pool) ?? 0) + 1);
      return Object.keys(settings.pools)
        .sort()
        .map((n) => view(n, counts.get(n) ?? 0));
    },
    /** One pool with its assignments; also lists assignments of a pool no longer configured (they defer mail). */
    async showPool(name: string): Promise<PoolView & { configured: boolean; assigned: PoolAssignment[]; blocklists: BlocklistResult[] }> {
      const assigned = await store.pools.list({ pool: name });
      const blocklists = (await store.blocklists.list()).filter((r) => r.pool === name);
      if (!(name in settings.pools)) {
        if (!assigned.length) configured(name);
        return {
          name,
          addresses: [],
          helo: '',
          select: 'hash',
          concurrency: null,
          isDefault: false,
          assignments: assigned.length,
          configured: false,
          assigned,
          blocklists,
        };
      }
      return { ...view(name, assigned.length), configured: true, assigned, blocklists };
    },
    /** The latest blocklist answers about every egress address. */
    listBlocklistResults: (): Promise<BlocklistResult[]> => store.blocklists.list(),
    /** Every assignment (of one customer when given). */
    async listPoolAssignments(customerName?: string): Promise<PoolAssignment[]> {
      if (customerName === undefined) return store.pools.list();
      const c = await store.customers.get(customerName);
      if (!c) throw missing(`no customer named ${customerName}`);
      return store.pools.list({ customerId: c.id });
    },
  };
}

/** What the audit trail records of each pool operation. */
export const poolOperations = {
  assignPool: audit('assignPool', POOL),
  unassignPool: audit('unassignPool', POOL),
  listPools: read,
  showPool: read,
  listBlocklistResults: read,
  listPoolAssignments: read,
} satisfies Declarations<ReturnType<typeof createPoolService>>;
