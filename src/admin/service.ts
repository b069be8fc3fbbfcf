/**
 * The administrative operations on customers, domains and mailboxes, with their validation.
 * The CLI (and later the HTTP API) call these; they never print.
 */
import { addressKey, normalizeDomain, parseAddress, parseHostPort as parseHostPortCore } from '../core/index.ts';
import { StoreError, type Store, type Customer, type Domain, type Mailbox, type Route, type RouteTls } from '../store/index.ts';
import { hashPassword, generatePassword } from '../credentials/index.ts';

export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminError';
  }
}

const CUSTOMER_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const MIN_PASSWORD = 8;

export interface PublicMailbox {
  address: string;
  customer: string;
  status: Mailbox['status'];
  createdAt: string;
  updatedAt: string;
}

export const publicMailbox = (m: Mailbox): PublicMailbox => ({
  address: m.address, customer: m.customerName, status: m.status,
  createdAt: new Date(m.createdAt).toISOString(), updatedAt: new Date(m.updatedAt).toISOString(),
});

const ROUTE_TLS: RouteTls[] = ['none', 'opportunistic', 'required'];

/** "host", "host:port", "1.2.3.4:25", "[2001:db8::1]:2525" -> host and port (25 by default). */
export function parseHostPort(input: string): { host: string; port: number } {
  const r = parseHostPortCore(input, 25);
  if ('error' in r) throw new AdminError(r.error);
  return r;
}

function rethrow(err: unknown): never {
  if (err instanceof StoreError) throw new AdminError(err.message);
  throw err;
}

export function createAdminService(store: Store) {
  async function customerOrFail(name: string): Promise<Customer> {
    const c = await store.customers.get(name);
    if (!c) throw new AdminError(`no customer named ${name}; add it with: postern customer add ${name}`);
    return c;
  }
  async function mailboxOrFail(address: string): Promise<Mailbox> {
    const key = addressKey(address);
    if (!key) throw new AdminError(`not a valid address: ${address}`);
    const m = await store.mailboxes.get(key);
    if (!m) throw new AdminError(`no mailbox ${key}`);
    return m;
  }
  function checkPassword(pw: string): void {
    if (pw.length < MIN_PASSWORD) throw new AdminError(`the password must have at least ${MIN_PASSWORD} characters`);
    if (/[\x00-\x1f\x7f]/.test(pw)) throw new AdminError('the password must not contain control characters');
  }

  return {
    async addCustomer(name: string): Promise<Customer> {
      if (!CUSTOMER_NAME.test(name)) {
        throw new AdminError(`invalid customer name "${name}": use letters, digits, dot, dash and underscore (at most 63)`);
      }
      return store.customers.add(name).catch(rethrow);
    },
    listCustomers: () => store.customers.list(),

    async addDomain(input: string, customerName: string): Promise<Domain> {
      const name = normalizeDomain(input);
      if (!name) throw new AdminError(`not a valid domain name: ${input}`);
      const c = await customerOrFail(customerName);
      const existing = await store.domains.get(name);
      if (existing) throw new AdminError(`domain ${name} already exists (customer ${existing.customerName})`);
      return store.domains.add(name, c.id).catch(rethrow);
    },
    listDomains: (customerName?: string) => store.domains.list(customerName),

    /** Adds a mailbox; returns the generated password when none was given. */
    async addMailbox(address: string, password?: string): Promise<{ mailbox: Mailbox; generated: string | null }> {
      const parsed = parseAddress(address);
      if (!parsed) throw new AdminError(`not a valid address: ${address}`);
      const domain = await store.domains.get(parsed.domain);
      if (!domain) throw new AdminError(`domain ${parsed.domain} is not hosted here; add it with: postern domain add ${parsed.domain} --customer NAME`);
      const generated = password === undefined ? generatePassword() : null;
      const pw = password ?? generated!;
      checkPassword(pw);
      const mailbox = await store.mailboxes
        .add({ address: addressKey(address)!, domainId: domain.id, customerId: domain.customerId, passwordHash: await hashPassword(pw) })
        .catch(rethrow);
      return { mailbox, generated };
    },
    async setPassword(address: string, password?: string): Promise<{ mailbox: Mailbox; generated: string | null }> {
      const m = await mailboxOrFail(address);
      const generated = password === undefined ? generatePassword() : null;
      const pw = password ?? generated!;
      checkPassword(pw);
      const mailbox = (await store.mailboxes.setPassword(m.address, await hashPassword(pw)))!;
      return { mailbox, generated };
    },
    async suspend(address: string): Promise<Mailbox> {
      const m = await mailboxOrFail(address);
      return (await store.mailboxes.setStatus(m.address, 'suspended'))!;
    },
    async resume(address: string): Promise<Mailbox> {
      const m = await mailboxOrFail(address);
      return (await store.mailboxes.setStatus(m.address, 'active'))!;
    },
    async removeMailbox(address: string): Promise<void> {
      const m = await mailboxOrFail(address);
      await store.mailboxes.remove(m.address);
    },
    async listMailboxes(filter: { customer?: string; domain?: string }): Promise<Mailbox[]> {
      if (filter.customer) await customerOrFail(filter.customer);
      const domain = filter.domain ? normalizeDomain(filter.domain) : undefined;
      if (filter.domain && !domain) throw new AdminError(`not a valid domain name: ${filter.domain}`);
      return store.mailboxes.list({ customerName: filter.customer, domain: domain ?? undefined });
    },
    listQueue: (limit?: number) => store.queue.list({ limit }),

    /** Sets (adds or replaces) the next hop of a domain. */
    async setRoute(domainInput: string, hostPort: string, tls: string = 'opportunistic'): Promise<Route> {
      const domain = normalizeDomain(domainInput);
      if (!domain) throw new AdminError(`not a valid domain name: ${domainInput}`);
      if (!ROUTE_TLS.includes(tls as RouteTls)) throw new AdminError(`--tls must be one of ${ROUTE_TLS.join(', ')}: ${tls}`);
      const { host, port } = parseHostPort(hostPort);
      return store.routes.set({ domain, host, port, tls: tls as RouteTls });
    },
    listRoutes: () => store.routes.list(),
    async removeRoute(domainInput: string): Promise<void> {
      const domain = normalizeDomain(domainInput);
      if (!domain) throw new AdminError(`not a valid domain name: ${domainInput}`);
      if (!(await store.routes.remove(domain))) throw new AdminError(`no route for ${domain}`);
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
