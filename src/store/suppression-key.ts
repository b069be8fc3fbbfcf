/** The key a suppressed address is stored and compared under, the same in every adapter. */
import { addressKey } from '../core/index.ts';

/** The whole address lower-cased (domain as an A-label); what does not parse, lower-cased as it is. */
export function suppressionKey(address: string): string {
  return addressKey(address.trim()) ?? address.trim().toLowerCase();
}
