/**
 * Sites, for the admin service: websites (or other local programs) of a customer that send
 * through `postern sendmail` or the HTTP send API. A site is created with a token that is
 * returned once (only its hash is stored) and may send only as the addresses and domains it is
 * granted, which must belong to its customer. Removing a site keeps its queued mail.
 */
import { addressKey, domainOf, normalizeDomain, type Customer, type Site, type SiteGrant } from '../core/index.ts';
import { newSiteToken, siteTokenHash } from '../credentials/index.ts';
import { StoreError, type Store } from '../store/index.ts';
import { AdminError, missing, sees, type TenantScope } from './errors.ts';
import { audit, read, SITE, type Declarations } from './audit.ts';

const SITE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
/** What POSIX and useradd allow in a user name (portable set, no leading dash). */
const UNIX_USER = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;

export interface SiteGrantInput {
  sendAs?: string | string[];
  domain?: string | string[];
}
export interface SiteAddInput extends SiteGrantInput {
  customer: string;
  unixUser?: string;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function createSiteService(store: Store, customerOrFail: (name: string, scope?: TenantScope) => Promise<Customer>) {
  async function siteOrFail(name: string, scope?: TenantScope): Promise<Site> {
    const s = await store.sites.get(name);
    if (!s || !sees(scope, s.customerId)) throw missing(`no site named ${name}`);
    return s;
  }
  async function ownDomain(customerId: number, customerName: string, domain: string): Promise<void> {
    const d = await store.domains.get(domain);
    if (!d || d.customerId !== customerId) {
      throw new AdminError(`${domain} is not a domain of customer ${customerName}: a site may only send as its own customer's domains`);
    }
  }
  /** The grants an input names, checked against the customer. */
  async function resolve(
    customerId: number,
    customerName: string,
    input: SiteGrantInput,
  ): Promise<{ kind: SiteGrant['kind']; value: string }[]> {
    const out: { kind: SiteGrant['kind']; value: string }[] = [];
    for (const raw of list(input.sendAs)) {
      const key = addressKey(raw.trim());
      if (!key)
        throw new AdminError(`not a valid address: ${raw}${raw.trim() === '<>' ? ' (a site may not send with the null sender)' : ''}`);
      await ownDomain(customerId, customerName, domainOf(key)!);
      out.push({ kind: 'address', value: key });
    }
    for (const raw of list(input.domain)) {
      const domain = normalizeDomain(raw);
      if (!domain) throw new AdminError(`not a valid domain name: ${raw}`);
      await ownDomain(customerId, customerName, domain);
      out.push({ kind: 'domain', value: domain });
    }
    return out;
  }

  return {
    /** Creates a site; returns its token (shown once). */
    async addSite(name: string, input: SiteAddInput, scope?: TenantScope): Promise<{ site: Site; token: string; grants: SiteGrant[] }> {
      if (!SITE_NAME.test(name))
        throw new AdminError(`invalid site name "${name}": use letters, digits, dot, dash and underscore (at most 63)`);
      const c = await customerOrFail(input.customer, scope);
      if (input.unixUser !== undefined && !UNIX_USER.test(input.unixUser))
        throw new AdminError(`not a valid unix user name: ${input.unixUser}`);
      const grants = await resolve(c.id, c.name, input);
      if (!grants.length) throw new AdminError('give what the site may send as: --send-as ADDRESS and/or --domain DOMAIN (repeatable)');
      const token = newSiteToken();
      const site = await store.sites
        .add({ name, customerId: c.id, unixUser: input.unixUser ?? null, tokenHash: siteTokenHash(token) })
        .catch((err: Error) => {
          throw err instanceof StoreError ? new AdminError(err.message, 'conflict') : err;
        });
      for (const g of grants) await store.sites.addGrant({ siteId: site.id, ...g });
      return { site, token, grants: await store.sites.grants(site.id) };
    },
    async listSites(customer?: string, scope?: TenantScope): Promise<{ site: Site; grants: SiteGrant[] }[]> {
      if (customer) await customerOrFail(customer, scope);
      return Promise.all(
        (await store.sites.list(customer ?? scope?.customerName)).map(async (site) => ({
          site,
          grants: await store.sites.grants(site.id),
        })),
      );
    },
    async getSite(name: string, scope?: TenantScope): Promise<{ site: Site; grants: SiteGrant[] }> {
      const site = await siteOrFail(name, scope);
      return { site, grants: await store.sites.grants(site.id) };
    },
    /** Removes a site and its own limit rules (a new site of the same name starts from the defaults). */
    async removeSite(name: string, scope?: TenantScope): Promise<Site> {
      const s = await siteOrFail(name, scope);
      await store.sites.remove(s.name);
      await store.limits.clear({ level: 'site', target: s.name });
      return s;
    },
    /** A new token; the old one stops working at once. */
    async rotateSiteToken(name: string, scope?: TenantScope): Promise<{ site: Site; token: string }> {
      const s = await siteOrFail(name, scope);
      const token = newSiteToken();
      await store.sites.setTokenHash(s.name, siteTokenHash(token));
      return { site: s, token };
    },
    async grantSite(
      name: string,
      input: SiteGrantInput,
      scope?: TenantScope,
    ): Promise<{ site: Site; added: { kind: SiteGrant['kind']; value: string }[] }> {
      const s = await siteOrFail(name, scope);
      const grants = await resolve(s.customerId, s.customerName, input);
      if (!grants.length) throw new AdminError('give --send-as ADDRESS or --domain DOMAIN');
      for (const g of grants) await store.sites.addGrant({ siteId: s.id, ...g });
      return { site: s, added: grants };
    },
    async revokeSite(
      name: string,
      input: SiteGrantInput,
      scope?: TenantScope,
    ): Promise<{ site: Site; removed: { kind: SiteGrant['kind']; value: string }[] }> {
      const s = await siteOrFail(name, scope);
      const wanted = [
        ...list(input.sendAs).map((v) => ({ kind: 'address' as const, value: addressKey(v.trim()) ?? v.trim() })),
        ...list(input.domain).map((v) => ({ kind: 'domain' as const, value: normalizeDomain(v) ?? v })),
      ];
      if (!wanted.length) throw new AdminError('give --send-as ADDRESS or --domain DOMAIN');
      for (const g of wanted) {
        if (!(await store.sites.removeGrant({ siteId: s.id, ...g })))
          throw missing(`site ${s.name} has no grant for ${g.kind === 'domain' ? 'the domain ' : ''}${g.value}`);
      }
      return { site: s, removed: wanted };
    },
  };
}

/** What the audit trail records of each site operation (never a token). */
export const siteOperations = {
  addSite: audit('addSite', SITE),
  listSites: read,
  getSite: read,
  removeSite: audit('removeSite', SITE),
  rotateSiteToken: audit('rotateSiteToken', SITE),
  grantSite: audit('grantSite', SITE),
  revokeSite: audit('revokeSite', SITE),
} satisfies Declarations<ReturnType<typeof createSiteService>>;
