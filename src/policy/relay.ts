/**
 * Relay access at RCPT: authenticated clients may send anywhere; unauthenticated clients
 * (only possible on the mx role) may not relay to other domains (554 5.7.1), and hosted
 * domains take no inbound mail until an inbound route exists for them (550 5.7.1).
 */
import { domainOf } from '../core/index.ts';
import { CONTINUE, reject, type SessionView, type Verdict } from './types.ts';

export interface RelayDeps {
  isHostedDomain(domain: string): Promise<boolean>;
}

export async function checkRelayAccess(deps: RelayDeps, session: SessionView, recipient: string): Promise<Verdict> {
  if (session.user) return CONTINUE;
  const domain = domainOf(recipient);
  if (!domain) return reject(553, '5.1.3', `Recipient address <${recipient}> is not a valid address`);
  if (await deps.isHostedDomain(domain)) {
    return reject(550, '5.7.1', `<${recipient}>: this server takes no inbound mail for ${domain}; authenticate to send`);
  }
  return reject(554, '5.7.1', `<${recipient}>: Relay access denied; authenticate to send`);
}
