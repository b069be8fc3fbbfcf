/**
 * Sender-specified routing in a recipient's local part: "user%elsewhere@hosted",
 * "elsewhere!user@hosted", or an RFC 821 route / a second address hidden in a quoted local part
 * ("@relay:user"@hosted, "user@elsewhere"@hosted). A next hop that honours them would relay
 * for anyone, so an unauthenticated client is refused with 550 5.1.3, as Postfix does with
 * allow_untrusted_routing = no. (A route in front of the whole path, <@relay:user@hosted>,
 * is dropped by the protocol layer as RFC 5321 appendix C says, and never passed on.)
 */
import { parseAddress } from '../core/index.ts';
import { CONTINUE, reject, type Verdict } from './types.ts';

/** The local part as the next hop would read it: quotes and backslash escapes removed. */
function unquoted(local: string): string {
  if (!local.startsWith('"') || !local.endsWith('"')) return local;
  return local.slice(1, -1).replace(/\\(.)/g, '$1');
}

export function hasSourceRoute(recipient: string): boolean {
  const a = parseAddress(recipient);
  const local = a ? a.local : recipient.slice(0, Math.max(0, recipient.lastIndexOf('@')));
  return /[%!@]/.test(unquoted(local));
}

export function checkSourceRoute(recipient: string): Verdict {
  if (!hasSourceRoute(recipient)) return CONTINUE;
  return reject(550, '5.1.3', `<${recipient}>: source routing (%, ! or @ in the local part) is not accepted here`);
}
