/**
 * Reply and error classification for outbound delivery: turns a remote SMTP reply, or an error
 * of the SMTP client (connect refused, timeout, TLS, protocol), into a per-recipient outcome
 * (delivered / deferred / failed) with a reason category. The rules are DATA: two ordered tables,
 * first match wins. Pure; never throws.
 */

export type Outcome = 'delivered' | 'deferred' | 'failed';

export type Category =
  | 'ok'
  | 'mailbox-unknown'
  | 'mailbox-full'
  | 'policy'
  | 'spam'
  | 'message-too-big'
  | 'rate-limited'
  | 'greylisted'
  | 'network'
  | 'timeout'
  | 'tls'
  | 'protocol'
  | 'dns'
  | 'other';

export interface Classification {
  outcome: Outcome;
  category: Category;
}

/** 'by-code' takes the outcome from the reply code class: 2xx delivered, 4xx deferred, 5xx failed. */
type RuleOutcome = Outcome | 'by-code';

export interface ReplyRule {
  /** Inclusive range of the basic reply code. */
  code?: [number, number];
  /** The enhanced status code matches this (anchored against "c.s.d"). */
  enhanced?: RegExp;
  /** The reply text matches this. */
  text?: RegExp;
  outcome: RuleOutcome;
  category: Category;
}

const SPAM_TEXT = /\b(spam|spamhaus|blocklist(ed)?|blacklist(ed)?|block list|black list|rbl|dnsbl|reputation)\b/i;
const GREY_TEXT = /gr[ae]y-? ?list/i;
const RATE_TEXT =
  /\b(rate limit(ed)?|too many (messages|connections|recipients|mails)|throttl(ed|ing)|exceeded .*(limit|quota) .*(hour|minute|day)|sending rate)/i;
const UNKNOWN_TEXT =
  /\b(user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|doesn't exist|recipient (address )?rejected|mailbox (not found|unavailable)|invalid (mailbox|recipient)|address rejected)/i;
const FULL_TEXT = /\b(mailbox (is )?full|over ?quota|quota exceeded|insufficient (storage|space))/i;
const BIG_TEXT = /\b(too (big|large)|size (limit|exceeded)|exceeds .*size|message size)/i;

/** Replies, first match wins. Order: specific enhanced codes, then text hints, then code classes. */
export const REPLY_RULES: readonly ReplyRule[] = [
  { code: [200, 299], outcome: 'delivered', category: 'ok' },

  // enhanced status codes (RFC 3463, RFC 5248)
  { enhanced: /^[45]\.1\.(1|0|3|6)$/, outcome: 'by-code', category: 'mailbox-unknown' },
  { enhanced: /^[45]\.1\.(2|10)$/, outcome: 'by-code', category: 'dns' },
  { enhanced: /^[45]\.2\.2$/, outcome: 'by-code', category: 'mailbox-full' },
  { enhanced: /^[45]\.(3\.4|2\.3)$/, outcome: 'by-code', category: 'message-too-big' },
  { enhanced: /^4\.2\.1$/, text: GREY_TEXT, outcome: 'deferred', category: 'greylisted' },
  { enhanced: /^4\.2\.1$/, outcome: 'deferred', category: 'rate-limited' },
  { enhanced: /^[45]\.2\.1$/, outcome: 'by-code', category: 'policy' }, // mailbox disabled
  { enhanced: /^4\.7\.\d+$/, text: GREY_TEXT, outcome: 'deferred', category: 'greylisted' },
  { enhanced: /^4\.7\.(28|0)$/, text: RATE_TEXT, outcome: 'deferred', category: 'rate-limited' },
  { enhanced: /^4\.7\.28$/, outcome: 'deferred', category: 'rate-limited' },
  { enhanced: /^[45]\.7\.\d+$/, text: SPAM_TEXT, outcome: 'by-code', category: 'spam' },
  { enhanced: /^[45]\.7\.(1[0-2]|15|5)$/, outcome: 'by-code', category: 'tls' }, // encryption / auth
  { enhanced: /^[45]\.7\.\d+$/, outcome: 'by-code', category: 'policy' },
  { enhanced: /^[45]\.4\.7$/, outcome: 'by-code', category: 'timeout' },
  { enhanced: /^[45]\.4\.[34]$/, outcome: 'by-code', category: 'dns' },
  { enhanced: /^[45]\.4\.\d+$/, outcome: 'by-code', category: 'network' },
  { enhanced: /^[45]\.[56]\.\d+$/, outcome: 'by-code', category: 'protocol' },
  { enhanced: /^[45]\.3\.\d+$/, outcome: 'by-code', category: 'other' },

  // text hints, for servers without (or with vague) enhanced codes
  { code: [400, 499], text: GREY_TEXT, outcome: 'deferred', category: 'greylisted' },
  { code: [400, 599], text: RATE_TEXT, outcome: 'by-code', category: 'rate-limited' },
  { code: [400, 599], text: SPAM_TEXT, outcome: 'by-code', category: 'spam' },
  { code: [400, 599], text: FULL_TEXT, outcome: 'by-code', category: 'mailbox-full' },
  { code: [400, 599], text: BIG_TEXT, outcome: 'by-code', category: 'message-too-big' },
  { code: [400, 599], text: UNKNOWN_TEXT, outcome: 'by-code', category: 'mailbox-unknown' },

  // basic reply codes (RFC 5321 section 4.2.3)
  { code: [452, 452], outcome: 'deferred', category: 'mailbox-full' },
  { code: [552, 552], outcome: 'failed', category: 'mailbox-full' },
  { code: [550, 551], outcome: 'failed', category: 'mailbox-unknown' },
  { code: [553, 553], outcome: 'failed', category: 'mailbox-unknown' },
  { code: [554, 554], outcome: 'failed', category: 'policy' },
  { code: [500, 504], outcome: 'failed', category: 'protocol' },
  { code: [555, 555], outcome: 'failed', category: 'protocol' },
  { code: [421, 421], outcome: 'deferred', category: 'other' },
  { code: [400, 499], outcome: 'deferred', category: 'other' },
  { code: [500, 599], outcome: 'failed', category: 'other' },
  // anything else (1xx, 3xx where a final reply was due, garbage): try again later
  { outcome: 'deferred', category: 'protocol' },
];

export interface ErrorRule {
  /** Matches err.code or err.originalCode (a system error wrapped by the SMTP client). */
  codes?: readonly string[];
  /** Matches err.message. */
  message?: RegExp;
  /**
   * When true the rule wins even when the error carries a reply; otherwise a reply, when there
   * is one, is classified through REPLY_RULES first.
   */
  beforeReply?: boolean;
  outcome: Outcome;
  category: Category;
}

/** Errors, first match wins (two passes: beforeReply rules, the reply, the rest). */
export const ERROR_RULES: readonly ErrorRule[] = [
  { codes: ['ETIMEDOUT', 'ETIME', 'ESOCKETTIMEDOUT'], beforeReply: true, outcome: 'deferred', category: 'timeout' },
  { codes: ['ETLS', 'EREQUIRETLS'], beforeReply: true, outcome: 'deferred', category: 'tls' },
  { codes: ['EPROTOCOL'], outcome: 'deferred', category: 'protocol' },
  { codes: ['EDNS', 'ENOTFOUND', 'EAI_AGAIN', 'ENODATA', 'ESERVFAIL'], outcome: 'deferred', category: 'dns' },
  { message: /^(ERR_SSL|ERR_TLS)|certificate|self[- ]signed|handshake|SSL routines/i, outcome: 'deferred', category: 'tls' },
  {
    codes: [
      'CERT_HAS_EXPIRED',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ],
    outcome: 'deferred',
    category: 'tls',
  },
  { codes: ['EMESSAGE'], message: /size larger than allowed/i, outcome: 'failed', category: 'message-too-big' },
  {
    codes: [
      'ECONNREFUSED',
      'ECONNRESET',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'EHOSTDOWN',
      'ENETDOWN',
      'EPIPE',
      'ECONNABORTED',
      'EADDRNOTAVAIL',
      'ESOCKET',
      'ECONNECTION',
    ],
    outcome: 'deferred',
    category: 'network',
  },
  { codes: ['EENVELOPE'], outcome: 'failed', category: 'protocol' }, // refused locally (bad address)
  { outcome: 'deferred', category: 'other' },
];

function outcomeOf(rule: RuleOutcome, code: number): Outcome {
  if (rule !== 'by-code') return rule;
  if (code >= 200 && code < 300) return 'delivered';
  if (code >= 500 && code < 600) return 'failed';
  return 'deferred';
}

function replyRuleMatches(r: Pick<ReplyRule, 'code' | 'enhanced' | 'text'>, code: number, enhanced: string | null, text: string): boolean {
  if (r.code && (code < r.code[0] || code > r.code[1])) return false;
  if (r.enhanced && (enhanced === null || !r.enhanced.test(enhanced))) return false;
  if (r.text && !r.text.test(text)) return false;
  return true;
}

export function classifyReply(code: number, enhanced: string | null, text: string): Classification {
  for (const r of REPLY_RULES) {
    if (!replyRuleMatches(r, code, enhanced, text)) continue;
    const outcome = outcomeOf(r.outcome, code);
    // an enhanced code's class never overrides the basic code (a 2xx is delivered, a 4xx deferred)
    return { outcome, category: outcome === 'delivered' ? 'ok' : r.category };
  }
  return { outcome: 'deferred', category: 'other' };
}

export interface ParsedReply {
  code: number;
  enhanced: string | null;
  text: string;
}

/** Parses "550-5.1.1 a\n550 5.1.1 b" (one or more lines) into code, enhanced code and text. */
export function parseReply(raw: string): ParsedReply | null {
  const lines = raw.split(/\r?\n/).filter((l) => l.length > 0);
  const first = /^([2-5]\d\d)[ -]?(.*)$/.exec(lines[0] ?? '');
  if (!first) return null;
  const code = Number(first[1]);
  let enhanced: string | null = null;
  const texts: string[] = [];
  for (const line of lines) {
    const m = /^\d{3}[ -]?(?:([2-5]\.\d{1,3}\.\d{1,3})(?: |$))?(.*)$/.exec(line);
    if (!m) {
      texts.push(line);
      continue;
    }
    if (m[1] && enhanced === null) enhanced = m[1];
    texts.push(m[2] ?? '');
  }
  return { code, enhanced, text: texts.join(' ').trim() };
}

export interface ClassifiableError {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  message: string;
}

function errorRuleMatches(r: ErrorRule, err: ClassifiableError): boolean {
  if (r.codes && !r.codes.some((c) => c === err.code || c === err.originalCode)) return false;
  if (r.message && !r.message.test(err.message)) return false;
  return true;
}

export function classifyError(err: ClassifiableError): Classification {
  for (const r of ERROR_RULES) {
    if (r.beforeReply && errorRuleMatches(r, err)) return { outcome: r.outcome, category: r.category };
  }
  const parsed = typeof err.response === 'string' ? parseReply(err.response) : null;
  if (parsed) return classifyReply(parsed.code, parsed.enhanced, parsed.text);
  if (typeof err.responseCode === 'number' && err.responseCode >= 200) {
    return classifyReply(err.responseCode, null, err.response ?? err.message);
  }
  for (const r of ERROR_RULES) {
    if (!r.beforeReply && errorRuleMatches(r, err)) return { outcome: r.outcome, category: r.category };
  }
  return { outcome: 'deferred', category: 'other' };
}

export interface HardBounceRule {
  code?: [number, number];
  enhanced?: RegExp;
  text?: RegExp;
  /** True: the remote server said the mailbox does not exist or is disabled (the recipient is suppressed). */
  hard: boolean;
}

/**
 * Which replies are hard bounces, first match wins: only permanent (5xx) failures that say the
 * mailbox is not there or is disabled; never a policy, spam, size or rate refusal.
 */
export const HARD_BOUNCE_RULES: readonly HardBounceRule[] = [
  { code: [200, 499], hard: false }, // only permanent failures
  { code: [500, 599], text: SPAM_TEXT, hard: false }, // "recipient rejected: listed at ..." is about us
  { code: [500, 599], text: RATE_TEXT, hard: false },
  { code: [500, 599], text: /\breceiving mail at a rate\b/i, hard: false }, // Gmail's 5.2.1 for a busy mailbox
  { code: [500, 599], enhanced: /^5\.1\.(1|2|10)$/, hard: true }, // bad mailbox, bad destination, recipient not found (5.1.10)
  { code: [500, 599], enhanced: /^5\.2\.1$/, hard: true }, // mailbox disabled
  { enhanced: /^\d\.\d{1,3}\.\d{1,3}$/, hard: false }, // any other enhanced code: 5.7.x policy, 5.2.2 full, 5.3.4 size ...
  { code: [550, 551], text: UNKNOWN_TEXT, hard: true }, // plain "550 user unknown"
  { code: [553, 553], text: UNKNOWN_TEXT, hard: true },
  { hard: false },
];

/** Does a remote reply ("550 5.1.1 ...", one or more lines) say the mailbox does not exist or is disabled? */
export function isHardBounce(reply: string): boolean {
  const p = parseReply(reply);
  if (!p) return false;
  for (const r of HARD_BOUNCE_RULES) if (replyRuleMatches(r, p.code, p.enhanced, p.text)) return r.hard;
  return false;
}
