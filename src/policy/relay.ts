/**
 * Relay access at RCPT: authenticated clients may send anywhere; unauthenticated clients
 * (only possible on the mx role) may not relay to other domains (554 5.7.1). A hosted domain
 * takes inbound mail from anyone once it has an inbound route (the mail is handed on to the
 * route's host); without one it refuses (550 5.7.1). Source routing in the local part of a
 * hosted domain's recipient is refused first (550 5.1.3, see source-route.ts).
 */
import { domainOf } from '../core/index.ts';
import { checkSourceRoute } from './source-route.ts';
import { CONTINUE, reject, type SessionView, type Verdict } from './types.ts';

export interface RelayDeps {
  isHostedDomain(domain: string): Promise<boolean>;
  /** The hosted domain has a route: inbound mail for it is accepted and handed on. */
  hasInboundRoute(domain: string): Promise<boolean>;
}

export async function checkRelayAccess(deps: RelayDeps, session: SessionView, recipient: string): Promise<Verdict> {
  if (session.user) return CONTINUE;
  const domain = domainOf(recipient);
  if (!domain) return reject(553, '5.1.3', `Recipient address <${recipient}> is not a valid address`);
  if (await deps.isHostedDomain(domain)) {
    const routed = checkSourceRoute(recipient);
    if (routed.kind === 'reject') return routed;
    if (await deps.hasInboundRoute(domain)) return CONTINUE;
    return reject(550, '5.7.1', `<${recipient}>: this server takes no inbound mail for ${domain}; authenticate to send`);
  }
  return reject(554, '5.7.1', `<${recipient}>: Relay access denied; authenticate to send`);
}
