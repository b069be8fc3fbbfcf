/**
 * Sender identity (envelope): an authenticated mailbox may use as MAIL FROM its own address
 * and what it was granted (named addresses, whole domains, the null sender). Anything else is
 * refused with 553 5.7.1 naming only the refused address, never the allowed ones.
 * Unauthenticated senders (mx role) pass here; relay access decides what they may do.
 */
import { addressKey, domainOf, type SenderGrant } from '../core/index.ts';
import { CONTINUE, reject, type SessionView, type Verdict } from './types.ts';

/** A grant as the checks see it: a mailbox's or a site's. */
export type Grant = Pick<SenderGrant, 'kind' | 'value'>;

/**
 * May a sender whose own address is `own` (a mailbox; null for a site) use `address`
 * ('' = the null sender), given its grants?
 */
export function senderAllowed(own: string | null, grants: readonly Grant[], address: string): boolean {
  if (address === '') return grants.some((g) => g.kind === 'null-sender');
  const key = addressKey(address);
  if (!key) return false;
  if (key === own) return true;
  const domain = domainOf(key);
  return grants.some((g) => (g.kind === 'address' && g.value === key) || (g.kind === 'domain' && g.value === domain));
}

export function checkEnvelopeSender(session: SessionView, sender: string, grants: readonly SenderGrant[] = []): Verdict {
  if (!session.user) {
    // Only the mx role takes unauthenticated senders; smtp-server enforces this too.
    return session.role === 'mx' ? CONTINUE : reject(530, '5.7.0', 'Authentication required');
  }
  if (sender !== '' && !addressKey(sender)) return reject(553, '5.1.7', `Sender address <${sender}> is not a valid address`);
  if (senderAllowed(session.user.address, grants, sender)) return CONTINUE;
  if (sender === '') return reject(553, '5.7.1', 'The null sender <> is not allowed for this login');
  return reject(553, '5.7.1', `Sender address <${sender}> is not allowed for this login`);
}
