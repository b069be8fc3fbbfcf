/** Recipient syntax and the per-message recipient cap (452 4.5.3, RFC 5321 4.5.3.1.10). */
import { parseAddress } from '../core/index.ts';
import { CONTINUE, reject, type Verdict } from './types.ts';

export function checkRecipient(recipient: string, alreadyAccepted: number, maxRecipients: number): Verdict {
  if (!parseAddress(recipient)) return reject(553, '5.1.3', `Recipient address <${recipient}> is not a valid address`);
  if (alreadyAccepted >= maxRecipients) {
    return reject(452, '4.5.3', `Too many recipients; at most ${maxRecipients} per message, send the rest in another message`);
  }
  return CONTINUE;
}
