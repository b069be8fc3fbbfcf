/**
 * The suppression list for the admin service: list, add (an operator's entry) and remove
 * recipients a customer's mail is refused for. Every function takes an optional scope: a
 * customer-scoped caller (the HTTP API with a customer token, the console) sees and changes only its own entries.
 */
import { addressKey, parseAddress, type Customer, type Suppression } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { AdminError, missing } from './errors.ts';
import { audit, read, SUPPRESSION, type Declarations } from './audit.ts';

const DAY = 86_400_000;
const MAX_DAYS = 3650;
const MAX_REASON = 500;

/** Who may act: unset, the operator (every customer); else one customer only. */
export interface SuppressionScope {
  customer: string;
}

export function createSuppressionService(
  store: Store,
  customerOrFail: (name: string) => Promise<Customer>,
  now: () => number,
  defaultDays: number,
) {
  /** The customer acted on: the scope's, and a named one must be the same. */
  async function customerOf(named: string | undefined, scope: SuppressionScope | undefined): Promise<Customer> {
    if (scope && named !== undefined && named !== scope.customer) throw new AdminError(`customer ${named} is outside this scope`);
    const name = scope?.customer ?? named;
    if (!name) throw new AdminError('give the customer (--customer NAME)');
    return customerOrFail(name);
  }
  function addressOf(input: string): string {
    const a = input.trim().replace(/^<(.*)>$/, '$1');
    if (!parseAddress(a)) throw new AdminError(`not a valid address: ${input}`);
    return a;
  }

  return {
    /** Entries in force, newest first. */
    async listSuppressions(
      filter: { customer?: string; address?: string; limit?: number } = {},
      scope?: SuppressionScope,
    ): Promise<Suppression[]> {
      const customer = filter.customer !== undefined || scope ? await customerOf(filter.customer, scope) : null;
      if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 1))
        throw new AdminError('--limit must be a positive whole number');
      const address = filter.address === undefined ? undefined : addressOf(filter.address);
      return store.suppressions.list({ customerId: customer?.id, address, now: now(), limit: filter.limit ?? 1000 });
    },
    /** An operator's entry: the customer's mail to the address is refused for `days` (default suppression.days). */
    async addSuppression(
      input: string,
      o: { customer?: string; days?: number; reason?: string },
      scope?: SuppressionScope,
    ): Promise<Suppression> {
      const address = addressOf(input);
      const days = o.days ?? defaultDays;
      if (o.days === undefined && defaultDays <= 0)
        throw new AdminError('give --days N: suppression.days is 0 (hard bounces suppress nothing)');
      if (!Number.isFinite(days) || days <= 0 || days > MAX_DAYS)
        throw new AdminError(`--days must be a number of days above 0 and at most ${MAX_DAYS}`);
      const reason = (o.reason ?? 'added by the postmaster').trim();
      if (!reason || reason.length > MAX_REASON || /[\x00-\x1f\x7f]/.test(reason))
        throw new AdminError(`--reason must be one line of 1 to ${MAX_REASON} characters`);
      const customer = await customerOf(o.customer, scope);
      const t = now();
      return store.suppressions.add({
        customerId: customer.id,
        address,
        reason,
        source: 'operator',
        now: t,
        until: t + Math.round(days * DAY),
      });
    },
    /** Lifts a suppression: the customer's mail to the address is accepted again at once. */
    async removeSuppression(
      input: string,
      o: { customer?: string },
      scope?: SuppressionScope,
    ): Promise<{ customer: string; address: string }> {
      const address = addressOf(input);
      const customer = await customerOf(o.customer, scope);
      if (!(await store.suppressions.remove(customer.id, address)))
        throw missing(`${addressKey(address) ?? address} is not suppressed for customer ${customer.name}`);
      return { customer: customer.name, address };
    },
  };
}

/** What the audit trail records of each suppression operation. */
export const suppressionOperations = {
  listSuppressions: read,
  addSuppression: audit('addSuppression', SUPPRESSION),
  removeSuppression: audit('removeSuppression', SUPPRESSION),
} satisfies Declarations<ReturnType<typeof createSuppressionService>>;
