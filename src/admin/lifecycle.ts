/**
 * The life of a hosting account, for the admin service: suspend and resume a customer (every
 * mailbox, site and token of it refused; its queued mail held with the hold machinery of the
 * queue, reason `customer`, and released on resume), and rename it. Removal and moves are in
 * removal.ts.
 */
import type { Store } from '../store/index.ts';
import type { Customer, QueuedMessage } from '../core/index.ts';
import { customerEvent } from '../webhooks/index.ts';
import { AdminError } from './errors.ts';
import { audit, str, CUSTOMER, customer, type Declarations } from './audit.ts';

const CUSTOMER_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const ALL = 100_000;

export interface SuspendResult {
  customer: Customer;
  held: number;
  inFlight: number;
}
export interface ResumeResult {
  customer: Customer;
  released: number;
  wasRemoving: boolean;
}

/** The messages of a customer still in the queue (every state). */
export const queuedOf = (store: Store, customer: string): Promise<QueuedMessage[]> => store.queue.list({ customer, limit: ALL });

/** Releases the mail that a suspension of the customer held (and nothing held for another reason); returns how many. */
export const releaseCustomerHolds = (store: Store, customer: Customer, now: () => number): Promise<number> =>
  store.queue.releaseCustomer(customer.id, now());

export function createLifecycleService(store: Store, customerOrFail: (name: string) => Promise<Customer>, now: () => number) {
  /** Holds every queued message of the customer (reason customer) in one transaction; a recipient in flight finishes its attempt. */
  async function holdAll(c: Customer): Promise<{ held: number; inFlight: number }> {
    const t = now();
    const inFlight = (await queuedOf(store, c.name)).filter(
      (m) => m.state === 'queued' && m.recipients.some((r) => r.leaseOwner !== null && r.nextAttemptAt > t),
    ).length;
    return { held: await store.queue.holdCustomer(c.id, t), inFlight };
  }

  return {
    /** Every mailbox, site and token of the customer is refused at once; its queued mail is held. */
    async suspendCustomer(name: string): Promise<SuspendResult> {
      const c = await customerOrFail(name);
      if (c.status === 'suspended')
        throw new AdminError(`customer ${c.name} is already suspended (since ${new Date(c.suspendedAt ?? 0).toISOString()})`, 'conflict');
      if (c.status === 'removing')
        throw new AdminError(`customer ${c.name} is being removed; finish with: postern customer remove ${c.name} --yes`, 'conflict');
      const customer = (await store.customers.setStatus(c.name, 'suspended', now()))!;
      const r = await holdAll(customer);
      await store.webhooks.enqueue([customerEvent('customer.suspended', customer, now(), { held: r.held })], now());
      return { customer, ...r };
    },
    /** The customer may log in and send again; the mail its suspension held is released. A removal in progress is called off. */
    async resumeCustomer(name: string): Promise<ResumeResult> {
      const c = await customerOrFail(name);
      if (c.status === 'active') throw new AdminError(`customer ${c.name} is not suspended`, 'conflict');
      const customer = (await store.customers.setStatus(c.name, 'active', now()))!;
      const released = await releaseCustomerHolds(store, customer, now);
      await store.webhooks.enqueue([customerEvent('customer.resumed', customer, now(), { released })], now());
      return { customer, released, wasRemoving: c.status === 'removing' };
    },
    /** Renames a customer; everything of it follows (it is referred to by id), history keeps the old name in the audit trail. */
    async renameCustomer(name: string, to: string): Promise<{ before: string; customer: Customer }> {
      const c = await customerOrFail(name);
      if (!CUSTOMER_NAME.test(to))
        throw new AdminError(`invalid customer name "${to}": use letters, digits, dot, dash and underscore (at most 63)`);
      if (to === c.name) throw new AdminError(`customer ${c.name} already has that name`);
      if (await store.customers.get(to)) throw new AdminError(`customer ${to} already exists`, 'conflict');
      const customer = await store.customers.rename(c.name, to).catch((err: Error) => {
        throw new AdminError(err.message, (err as { kind?: string }).kind === 'conflict' ? 'conflict' : 'invalid');
      });
      if (!customer) throw new AdminError(`customer ${c.name} changed meanwhile; look again with: postern customer list`, 'conflict');
      return { before: c.name, customer };
    },
  };
}

/** What the audit trail records of suspending, resuming and renaming a customer. */
export const lifecycleOperations = {
  suspendCustomer: audit('suspendCustomer', CUSTOMER),
  resumeCustomer: audit('resumeCustomer', CUSTOMER),
  // the record is kept under the old name's target, and its after shows the new name
  renameCustomer: audit('renameCustomer', {
    target: (a) => `customer:${str(a[0])}`,
    snapshot: async (s, t, a) => (await customer(s, t.slice('customer:'.length))) ?? customer(s, str(a[1])),
  }),
} satisfies Declarations<ReturnType<typeof createLifecycleService>>;
