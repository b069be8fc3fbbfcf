/**
 * intake/: everything between end-of-DATA and "queued": the bare-LF/CR guard, RFC 6409 header
 * fix-ups (Received, Message-ID, Date, Bcc removal), the spool write and the durable enqueue.
 * A request names its origin (mailbox, site, relay, system notice), which implies whether it is
 * signed and scanned, its limits and holds, and its Received protocol (origin.ts).
 * Never talks SMTP or decides policy. Fails with an SmtpError and leaves nothing behind.
 * Imports: core, observability, limits, spool, queue, dkim, scan, webhooks, store.
 */
export * from './intake.ts';
export * from './origin.ts';
export { buildReceived, protocolName } from './received.ts';
export { LineEndingGuard } from './line-endings.ts';
export { HeaderRewriter, rfc5322Date, MAX_HEADER_BYTES } from './headers.ts';
