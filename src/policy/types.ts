/** The shape every check shares: a context in, a verdict out. */
import type { SmtpReply } from '../core/index.ts';
import type { ListenerRole } from '../config/index.ts';

export type Verdict = { kind: 'continue' } | { kind: 'reject'; reply: SmtpReply };

export const CONTINUE: Verdict = { kind: 'continue' };

export function reject(code: number, enhanced: string, text: string): Verdict {
  return { kind: 'reject', reply: { code, enhanced, text } };
}

/** Who is sending, as the policy sees it. */
export interface AuthUser {
  mailboxId: number;
  address: string;
  customerId: number;
  customerName: string;
}

export interface SessionView {
  role: ListenerRole;
  clientIp: string;
  user: AuthUser | null;
}
