/** The tenants and who sends for them: customers, their domains, mailboxes (with app passwords and sender grants) and sites. */

/**
 * active; suspended: every mailbox, site and token of it is refused, its queued mail held;
 * removing: refused like suspended while its queued mail is delivered before it is removed.
 */
export type CustomerStatus = 'active' | 'suspended' | 'removing';

export interface Customer {
  id: number;
  name: string;
  /** Where notices about this customer's account go (a mailbox put on hold), or null. */
  contact: string | null;
  status: CustomerStatus;
  /** Since when it is suspended (or being removed), or null. */
  suspendedAt: number | null;
  createdAt: number;
}

export interface Domain {
  id: number;
  name: string; // lower-case A-label
  customerId: number;
  customerName: string;
  createdAt: number;
}

export type MailboxStatus = 'active' | 'suspended';

/** Where a mailbox came from: added in Postern, imported with its hash, or made at its first login through Dovecot. */
export type MailboxSource = 'postern' | 'import' | 'dovecot';

export interface Mailbox {
  id: number;
  address: string; // canonical key: lower-case
  domainId: number;
  customerId: number;
  customerName: string;
  passwordHash: string;
  credentialVersion: number; // bumped on every password change, suspension and resumption
  status: MailboxStatus;
  /** Its customer's status: a mailbox of a customer not active is refused like a suspended one. */
  customerStatus: CustomerStatus;
  /** On hold (suspected compromise) since, with why; null when not held. */
  heldSince: number | null;
  holdReason: string | null;
  /** When a hold was last released: the signals of that hour no longer count. */
  releasedAt: number | null;
  source: MailboxSource;
  /** The hash as last brought in by `mailbox import` (a re-import compares with it), or null. */
  importedHash: string | null;
  /** The mailbox's own password is refused on submission: only its app passwords log in. */
  appPasswordsOnly: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A named app password of a mailbox (only its SHA-256 is stored), with its last use. */
export interface AppPassword {
  id: number;
  mailboxId: number;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  lastIp: string | null;
}

/**
 * What a mailbox may send as besides its own address: one address (an alias such as
 * orders@shop.example), every address of a domain, or the null sender. Values are lower-case.
 */
export type GrantKind = 'address' | 'domain' | 'null-sender';

export interface SenderGrant {
  mailboxId: number;
  kind: GrantKind;
  value: string; // the address, the domain, or '' for the null sender
  createdAt: number;
}

/**
 * A site: a website (or any local program) of a customer that sends without SMTP AUTH, through
 * `postern sendmail` or the HTTP send API, identified by a token (only its SHA-256 is kept).
 */
export interface Site {
  id: number;
  name: string;
  customerId: number;
  customerName: string;
  /** Its customer's status: a site of a customer not active is refused. */
  customerStatus: CustomerStatus;
  /** The unix user its website runs as (recorded in Received), or null. */
  unixUser: string | null;
  /** On hold (suspected misuse) since, with why; null when not held. */
  heldSince: number | null;
  holdReason: string | null;
  /** When a hold was last released: the signals of that hour no longer count. */
  releasedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What a site may send as: an address or every address of a domain (of its customer). */
export interface SiteGrant {
  siteId: number;
  kind: 'address' | 'domain';
  value: string;
  createdAt: number;
}
