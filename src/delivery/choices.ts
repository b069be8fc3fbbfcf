/**
 * Two questions about a delivery asked from outside an attempt: whether DANE is in effect with
 * a configuration (and why, or why not: `postern config check` prints it), and which egress
 * pool a job leaves from.
 */
import type { Config } from '../config/index.ts';
import { normalizeDomain } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { DeliveryJob } from '../core/index.ts';
import { daneStatus } from './dane.ts';
import { serversOf } from './secure-dns.ts';

/** Whether DANE is in effect with this configuration, and why (or why not). */
export function daneStatusOf(config: Config): ReturnType<typeof daneStatus> {
  return daneStatus({
    enabled: config.delivery.dane,
    validating: config.dns.validating,
    servers: serversOf(config.dns.servers),
    trusted: config.dns.trustedResolvers,
  });
}

/** The egress pool of a job: its site's, sender domain's or customer's assignment, else the default pool. */
export async function poolOf(store: Pick<Store, 'pools'>, job: DeliveryJob, defaultPool: string | null): Promise<string | null> {
  const { customerId, sender, siteId } = job.message;
  if (customerId === null) return defaultPool;
  const at = sender.lastIndexOf('@');
  const senderDomain = at > 0 ? normalizeDomain(sender.slice(at + 1)) : null;
  return (await store.pools.poolFor({ customerId, senderDomain, siteId: siteId ?? null })) ?? defaultPool;
}
