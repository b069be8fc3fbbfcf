/**
 * Sender identity (envelope): an authenticated mailbox may use its own address as MAIL FROM.
 * The null sender and every other address are refused with 553 5.7.1. Unauthenticated
 * senders (mx role) pass here; relay access decides what they may do.
 */
import { addressKey } from '../core/index.ts';
import { CONTINUE, reject, type SessionView, type Verdict } from './types.ts';

export function checkEnvelopeSender(session: SessionView, sender: string): Verdict {
  if (!session.user) {
    // Only the mx role takes unauthenticated senders; smtp-server enforces this too.
    return session.role === 'mx' ? CONTINUE : reject(530, '5.7.0', 'Authentication required');
  }
  if (sender === '') {
    return reject(553, '5.7.1', 'The null sender <> is not allowed for authenticated submission');
  }
  const key = addressKey(sender);
  if (!key) return reject(553, '5.1.7', `Sender address <${sender}> is not a valid address`);
  if (key !== session.user.address) {
    return reject(553, '5.7.1', `Sender address <${sender}> is not allowed for this login`);
  }
  return CONTINUE;
}
