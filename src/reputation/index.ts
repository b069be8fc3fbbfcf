/**
 * reputation/: watching our own egress addresses (delivery.pools) on DNS blocklists: timed
 * checks, the results kept in the store, a metric per address and zone, a notice to the
 * postmaster naming the pool's likely senders, and which pools are listed now (for failover to
 * a pool's fallback), and the check as a timed job (app/ runs its timer). Never decides a
 * delivery itself and never sends mail itself (it is handed a queueNotice); `check` never
 * throws, the timed `tick` throws a failure after logging it.
 * Imports: core, config, store.
 */
export {
  BLOCKLIST_WORDS,
  createBlocklistWatch,
  checkOne,
  queryName,
  suspectsOf,
  resolverLookup,
  type BlocklistWatch,
  type BlocklistSettings,
  type BlocklistZone,
  type NewListing,
  type Lookup,
  type Suspect,
} from './blocklists.ts';
export { buildListingNotice, listingJson, listingText } from './notice.ts';
export { createListedPools, type ListedPools } from './listed.ts';
export { createBlocklistJob, type BlocklistJob, type BlocklistJobDeps } from './job.ts';
