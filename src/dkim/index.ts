/**
 * dkim/: DKIM keys per domain and signing. Key material and selectors, the DNS records to
 * publish, the signer intake's header rewriter feeds, the in-memory keyring, the
 * staged rotation (pending, active, retiring, retired) and the domain health check. Never
 * refuses a message: without an active key a message goes unsigned (and is logged so); a key
 * that cannot be used is logged and skipped.
 * Imports: core, credentials, store.
 */
export * from './records.ts';
export * from './keys.ts';
export { DkimSigner, fromDomain, type SigningKey } from './signer.ts';
export { createKeyring, type Keyring } from './keyring.ts';
export { createDkimService, DkimError, type DkimService, type DkimPolicy, type TickResult } from './rotation.ts';
export { createDnsLookup, type DnsLookup } from './dns.ts';
export { checkDomain, checkPool, formatCheckReport, suggestSpf, type CheckReport, type CheckItem } from './check.ts';
