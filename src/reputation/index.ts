/**
 * reputation/: watching our own egress addresses (delivery.pools) on DNS blocklists: timed
 * checks, the results kept in the store, a metric per address and zone, a notice to the
 * postmaster naming the pool's likely senders, and which pools are listed now (for failover to
 * a pool's fallback). Never decides a delivery itself and never throws from a timed check.
 * Imports: core, store.
 */
export { BLOCKLIST_WORDS, createBlocklistWatch, checkOne, queryName, suspectsOf, resolverLookup, type BlocklistWatch, type BlocklistSettings, type BlocklistZone, type NewListing, type Lookup, type Suspect } from './blocklists.ts';
export { buildListingNotice, listingJson, listingText } from './notice.ts';
export { createListedPools, type ListedPools } from './listed.ts';
