/**
 * Sender identity (envelope): an authenticated mailbox may use as MAIL FROM its own address
 * and what it was granted (named addresses, whole domains, the null sender). Anything else is
 * refused with 553 5.7.1 naming only the refused address, never the allowed ones.
 * Unauthenticated senders (mx role) pass here; relay access decides what they may do.
 */
import { addressKey, domainOf } from '../core/index.ts';
import type { SenderGrant } from '../store/index.ts';
import { CONTINUE, reject, type AuthUser, type SessionView, type Verdict } from './types.ts';

/** May this mailbox use `address` ('' = the null sender) as a sender? */
export function senderAllowed(user: AuthUser, grants: readonly SenderGrant[], address: string): boolean {
  if (address === '') return grants.some((g) => g.kind === 'null-sender');
  const key = addressKey(address);
  if (!key) return false;
  if (key === user.address) return true;
  const domain = domainOf(key);
  return grants.some((g) => (g.kind === 'address' && g.value === key) || (g.kind === 'domain' && g.value === domain));
}

export function checkEnvelopeSender(session: SessionView, sender: string, grants: readonly SenderGrant[] = []): Verdict {
  if (!session.user) {
    // Only the mx role takes unauthenticated senders; smtp-server enforces this too.
    return session.role === 'mx' ? CONTINUE : reject(530, '5.7.0', 'Authentication required');
  }
  if (sender !== '' && !addressKey(sender)) return reject(553, '5.1.7', `Sender address <${sender}> is not a valid address`);
  if (senderAllowed(session.user, grants, sender)) return CONTINUE;
  if (sender === '') return reject(553, '5.7.1', 'The null sender <> is not allowed for this login');
  return reject(553, '5.7.1', `Sender address <${sender}> is not allowed for this login`);
}
