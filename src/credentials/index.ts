/**
 * credentials/: password hashing (argon2id), verification, the verified-login cache, and the
 * secret box for secrets Postern must read back (relay passwords, encrypted with a key file),
 * and the one-time passwords (TOTP) of the console's second factor.
 * Never decides what a mailbox may do after login. Fails closed: an unknown scheme or a
 * broken hash never verifies; store errors propagate to the caller (which answers 4xx).
 */
export * from './hash.ts';
export * from './cache.ts';
export * from './authenticate.ts';
export * from './secrets.ts';
export * from './site-token.ts';
export * from './key-check.ts';
export * from './totp.ts';
