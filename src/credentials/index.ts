/**
 * credentials/: password hashing (argon2id), verification of every supported scheme (also the
 * crypt, bcrypt, argon2 and salted SHA hashes imported from Dovecot or shadow files), the
 * verified-login cache, app password checks, the Dovecot authentication client, and the secret
 * box for secrets Postern must read back (relay passwords, encrypted with a key file), and the
 * one-time passwords (TOTP) of the console's second factor. Never
 * decides what a mailbox may do after login. Fails closed: an unknown scheme or a broken hash
 * never verifies; Dovecot not answering and store errors propagate to the caller (which
 * answers 4xx).
 * Imports: core, store.
 */
export * from './hash.ts';
export * from './cache.ts';
export * from './authenticate.ts';
export * from './secrets.ts';
export * from './site-token.ts';
export * from './key-check.ts';
export * from './schemes.ts';
export * from './dovecot.ts';
export * from './totp.ts';
