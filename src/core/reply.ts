/**
 * SmtpReply: a reply code, an RFC 3463 enhanced status code and a human text. Every refusal in
 * Postern is one of these, so the wire always carries exactly one enhanced code per line.
 */
export interface SmtpReply {
  code: number;
  enhanced: string;
  text: string;
}

export function reply(code: number, enhanced: string, text: string): SmtpReply {
  return { code, enhanced, text };
}

/** An Error that smtp-server turns into a reply: responseCode plus "X.Y.Z text" as the message. */
export class SmtpError extends Error {
  readonly responseCode: number;
  readonly reply: SmtpReply;
  /**
   * Why, for channels that are not SMTP (the send API's problem type, sendmail's exit code):
   * 'send-as', 'limit', 'hold', 'size', 'data', 'recipient', 'auth', 'content' (the scanner),
   * 'unavailable' (a part we need is down), 'suppressed' (a recipient on the suppression list);
   * unset for our own failures.
   */
  reason?: RefusalReason;
  /** For a deferral: when trying again can succeed (ms since the epoch). */
  retryAt?: number;
  constructor(r: SmtpReply, cause?: unknown) {
    super(`${r.enhanced} ${r.text}`, cause === undefined ? undefined : { cause });
    this.name = 'SmtpError';
    this.responseCode = r.code;
    this.reply = r;
  }
}

export type RefusalReason =
  | 'send-as'
  | 'limit'
  | 'hold'
  | 'size'
  | 'data'
  | 'recipient'
  | 'auth'
  | 'content'
  | 'unavailable'
  | 'suppressed'
  | 'suspended';

/** What every channel tells a sender (who proved who it is) of a customer account that is suspended or being removed. */
export const ACCOUNT_SUSPENDED = 'This account is suspended; contact your provider';

/** Tags an SmtpError with its reason (and when to retry) and returns it. */
export function because<E extends SmtpError>(err: E, reason: RefusalReason, retryAt?: number): E {
  err.reason = reason;
  if (retryAt !== undefined) err.retryAt = retryAt;
  return err;
}

/** An SmtpError; `cause` (our own failure behind a 4xx) is logged, never sent. */
export function smtpError(code: number, enhanced: string, text: string, cause?: unknown): SmtpError {
  return new SmtpError(reply(code, enhanced, text), cause);
}

export function isTransient(r: SmtpReply): boolean {
  return r.code >= 400 && r.code < 500;
}

export function formatReply(r: SmtpReply): string {
  return `${r.code} ${r.enhanced} ${r.text}`;
}

/** Text that already starts with an enhanced status code ("5.7.1 ..."). */
export const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;
