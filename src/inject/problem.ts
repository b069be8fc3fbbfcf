/**
 * Refusals outside SMTP: an SmtpError becomes an RFC 9457 problem (the send API) with the
 * same reply an SMTP client would get, and a problem becomes a sendmail exit code (sysexits).
 * Imports nothing heavy: `postern sendmail` loads this on every call.
 */

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The SMTP reply an SMTP client would have got: "451 4.7.1 ...". */
  smtp?: string;
  /** Why, in one word: send-as, limit, hold, size, data, recipient, suppressed, auth, unavailable. */
  reason: string;
  /** Seconds until trying again can succeed (deferrals). */
  retryAfter?: number;
  /** Field errors of a JSON body. */
  errors?: { path: string; message: string }[];
}

const TITLES: Record<string, string> = {
  'send-as': 'Sender not allowed',
  limit: 'Sending limit reached',
  hold: 'Sender on hold',
  content: 'Message refused by the content scanner',
  size: 'Message too large',
  data: 'Message not acceptable',
  recipient: 'Recipients not acceptable',
  suppressed: 'Recipient suppressed',
  auth: 'Authentication required',
  unavailable: 'Temporarily unavailable',
  'bad-request': 'Bad request',
  invalid: 'Invalid request',
  'not-found': 'Not found',
  conflict: 'Conflict',
  forbidden: 'Forbidden',
  suspended: 'Account suspended',
};

export const PROBLEM_TYPE_BASE = 'urn:postern:problem:';

/** The HTTP status of a refusal: 429 for deferrals by a limit, 403 for policy, 413 size, 400 data. */
export function httpStatusOf(code: number, reason: string | undefined): number {
  if (reason === 'size') return 413;
  if (reason === 'auth') return 401;
  if (code >= 400 && code < 500)
    return reason === 'limit' || reason === 'hold' || reason === 'content' ? 429 : reason === 'recipient' ? 400 : 503;
  if (reason === 'send-as' || reason === 'limit' || reason === 'hold' || reason === 'content' || reason === 'suspended') return 403;
  if (reason === 'recipient' || reason === 'suppressed') return 400;
  return 422;
}

export function problem(reason: string, status: number, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: PROBLEM_TYPE_BASE + reason, title: TITLES[reason] ?? 'Refused', status, detail, reason, ...extra };
}

/** sysexits(3) values that sendmail-compatible programs return. */
export const EX = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOUSER: 67,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  OSERR: 71,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  NOPERM: 77,
  CONFIG: 78,
} as const;

/** The exit code of `postern sendmail` for a refusal of the server. */
export function exitCodeOf(p: Pick<Problem, 'status' | 'reason'>): number {
  if (p.status === 429 || p.status === 503 || p.status >= 500) return EX.TEMPFAIL;
  if (p.reason === 'suppressed') return EX.NOUSER;
  if (
    p.reason === 'send-as' ||
    p.reason === 'auth' ||
    p.reason === 'hold' ||
    p.reason === 'limit' ||
    p.reason === 'content' ||
    p.reason === 'suspended'
  )
    return EX.NOPERM;
  if (p.reason === 'data' || p.reason === 'size' || p.reason === 'recipient' || p.reason === 'bad-request') return EX.DATAERR;
  return EX.UNAVAILABLE;
}
