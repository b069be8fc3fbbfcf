/** How mail leaves: per-domain routes, egress pools, DNS blocklist results, DKIM keys, and suppressed recipients. */

export type RouteTls = 'none' | 'opportunistic' | 'required';

/** A per-domain next hop that overrides the MX lookup. */
export interface Route {
  domain: string; // lower-case A-label
  host: string; // name or IP address (no brackets)
  port: number;
  tls: RouteTls;
  /** Login at the next hop (AUTH, only over TLS), or null. */
  authUser: string | null;
  /** The password, sealed by credentials' secret box; never stored in clear. */
  authSecret: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What an egress pool is assigned to: a customer's mail, a hosted domain's (as sender), or a site's. */
export type PoolTarget = 'customer' | 'domain' | 'site';

export const POOL_TARGETS: readonly PoolTarget[] = ['customer', 'domain', 'site'];

/** The egress pool (a name in delivery.pools) of a customer, hosted domain or site. */
export interface PoolAssignment {
  kind: PoolTarget;
  /** The customer's, domain's (lower-case A-label) or site's name. */
  name: string;
  customerId: number;
  customerName: string;
  pool: string;
  createdAt: number;
  updatedAt: number;
}

/** The latest answer of one DNS blocklist about one egress address. */
export interface BlocklistResult {
  address: string;
  zone: string;
  pool: string;
  listed: boolean;
  /** The answers (return codes) and what the configuration says they mean. */
  codes: string[];
  meaning: string | null;
  checkedAt: number;
  /** Listed since (the first check that found it listed), or null. */
  listedSince: number | null;
}

export type DkimKeyState = 'pending' | 'active' | 'retiring' | 'retired';

/**
 * A DKIM key of a domain. pending: made, its record is to be published; active: signs;
 * retiring: no longer signs, its record must stay published (mail in flight and in mailboxes
 * still refers to it); retired: its record may go.
 */
export interface DkimKey {
  id: number;
  domainId: number;
  domain: string;
  selector: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  /** Sealed by the secret box (credentials/secrets). */
  privateKey: string;
  /** The p= value of its DNS record. */
  publicKey: string;
  state: DkimKeyState;
  createdAt: number;
  activatedAt: number | null;
  retiringAt: number | null;
  retiredAt: number | null;
}

/** Why a recipient is suppressed: it hard-bounced, or an operator put it on the list. */
export type SuppressionSource = 'bounce' | 'operator';

/**
 * A recipient a customer's mail is not sent to until `until` (it hard-bounced: the mailbox does
 * not exist or is disabled). Per customer: the same address is not suppressed for another one.
 */
export interface Suppression {
  customerId: number;
  customerName: string;
  /** The address as it was last given (for display); compared through its lower-cased key. */
  address: string;
  /** The remote reply that caused it, or the operator's note. */
  reason: string;
  source: SuppressionSource;
  createdAt: number;
  /** When it was last suppressed (the latest bounce or operator entry). */
  updatedAt: number;
  until: number;
}
