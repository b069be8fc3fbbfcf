/**
 * bounce/: RFC 3464 delivery status notifications (non-delivery, delay and success reports):
 * the pure builder of the multipart/report message. It never sends, never touches the store
 * and never decides whether a report is due. The message it builds goes back through intake
 * with the null envelope sender; a DSN is never sent *to* the null sender, and that rule is
 * enforced by the caller (queue/), not here (buildDsn only refuses an empty `to` as a last
 * guard). Fails by throwing on bad input, or by destroying the returned stream when the
 * original message cannot be read.
 */
export { buildDsn, dsnSubject, type DsnInput, type DsnRecipient, type DsnAction } from './dsn.ts';
