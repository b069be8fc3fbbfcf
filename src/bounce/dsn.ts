/**
 * RFC 3464 delivery status notifications: a pure builder of the multipart/report message
 * (report-type=delivery-status). Its only input/output is the original message it is handed
 * and the Readable it returns; it never sends, never reads the store and never decides
 * whether a DSN is due (queue/ and the NOTIFY rules do that).
 *
 * Every value that came from outside (remote replies, host names, ORCPT, ENVID, the queue id)
 * is reduced to one line without control characters and cut to a bounded length before it
 * becomes a field, so a hostile reply can neither inject fields nor produce a line over the
 * 998-octet limit. ORCPT and ENVID are expected xtext-decoded, as smtp-server hands them on.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipient {
  finalRecipient: string; // "addr" (typed as rfc822, or utf-8 when not ASCII) or already "type;addr"
  originalRecipient?: string | null; // ORCPT value as received, e.g. "rfc822;a@b"
  action: DsnAction;
  status: string; // "5.1.1"
  remoteMta?: string | null; // host name (dns;host)
  diagnosticCode?: string | null; // the remote reply: "550 5.1.1 user unknown" -> "smtp; 550 5.1.1 user unknown"
  lastAttemptDate?: Date | null;
  willRetryUntil?: Date | null; // for 'delayed'
}

export interface DsnInput {
  reportingMta: string; // our hostname
  postmaster: string; // From address of the DSN, e.g. "MAILER-DAEMON@host"
  to: string; // the original envelope sender (never the null sender: the caller checks)
  queueId: string; // the original queue id, reported as X-Postern-Queue-ID
  envelopeId?: string | null; // ENVID
  arrivalDate: Date;
  recipients: DsnRecipient[];
  ret: 'HDRS' | 'FULL'; // FULL: the whole original as message/rfc822; HDRS: text/rfc822-headers
  original: NodeJS.ReadableStream | Buffer; // the original message (CRLF line endings)
  now: Date;
  messageIdDomain: string;
  /** Source of randomness for the boundary and the Message-ID; tests replace it. */
  random?: (size: number) => Buffer;
}

const CRLF = '\r\n';
const MAX_VALUE_BYTES = 900; // one field value, before folding (a line stays far below 998)
const MAX_HEADER_BYTES = 256 * 1024; // RET=HDRS: a longer original header is cut at a line end
const PREFETCH_BYTES = 256 * 1024; // RET=FULL: smaller originals are checked whole before sending
const WRAP = 76;

export function dsnSubject(recipients: DsnRecipient[]): string {
  const actions = new Set(recipients.map((r) => r.action));
  if (actions.has('failed')) return 'Undelivered Mail Returned to Sender';
  if (actions.has('delayed')) return 'Delayed Mail (still being retried)';
  return 'Successful Mail Delivery Report';
}

/**
 * Builds the complete DSN (CRLF line endings). Input errors (no recipients, the null sender as
 * recipient, invalid dates) throw at once; a failing original stream, or a boundary that turns
 * up inside a streamed original larger than the prefetch, destroys the returned stream with
 * an error (the second has a chance of 2^-144 and means "build it again").
 */
export function buildDsn(input: DsnInput): Readable {
  if (!input.recipients.length) throw new TypeError('buildDsn: a DSN needs at least one recipient');
  if (!cleanAddress(input.to)) throw new TypeError('buildDsn: never build a DSN to the null sender');
  for (const d of [input.arrivalDate, input.now]) {
    if (!validDate(d)) throw new TypeError('buildDsn: arrivalDate and now must be valid dates');
  }
  for (const r of input.recipients) {
    if (!clean(r.finalRecipient)) throw new TypeError('buildDsn: every recipient needs a finalRecipient');
  }
  return Readable.from(generate(input), { objectMode: false });
}

// ---------------------------------------------------------------------------------------------
// The message

async function* generate(input: DsnInput): AsyncGenerator<Buffer> {
  const random = input.random ?? randomBytes;
  const original = await openOriginal(input.original, input.ret);
  try {
    const text = Buffer.from(humanText(input), 'utf8');
    const global = needsGlobal(input);
    const status = Buffer.from(deliveryStatus(input, global), 'utf8');
    const boundary = pickBoundary(random, [original.head, text, status]);
    const text8 = has8bit(text);
    const orig8 = original.rest !== null || has8bit(original.head);
    const cte = (eight: boolean) => (eight ? '8bit' : '7bit');

    yield Buffer.from(
      [
        `From: Mail Delivery System <${cleanAddress(input.postmaster)}>`,
        `To: <${cleanAddress(input.to)}>`,
        `Subject: ${dsnSubject(input.recipients)}`,
        `Date: ${rfc5322Date(input.now)}`,
        `Message-ID: <${input.now.getTime().toString(36)}.${random(9).toString('hex')}@${cleanHost(input.messageIdDomain)}>`,
        'MIME-Version: 1.0',
        'Auto-Submitted: auto-replied',
        'Content-Type: multipart/report; report-type=delivery-status;',
        `\tboundary="${boundary}"`,
        `Content-Transfer-Encoding: ${cte(text8 || global || orig8)}`,
        '',
        'This is a MIME-encapsulated message.',
        '',
        `--${boundary}`,
        'Content-Type: text/plain; charset=utf-8',
        'Content-Description: Notification',
        `Content-Transfer-Encoding: ${cte(text8)}`,
        '',
        '',
      ].join(CRLF),
      'utf8',
    );
    yield text;
    yield Buffer.from(
      [
        '',
        `--${boundary}`,
        `Content-Type: message/${global ? 'global-delivery-status' : 'delivery-status'}`,
        'Content-Description: Delivery report',
        `Content-Transfer-Encoding: ${cte(global)}`,
        '',
        '',
      ].join(CRLF),
    );
    yield status;
    const full = input.ret === 'FULL';
    yield Buffer.from(
      [
        '',
        `--${boundary}`,
        `Content-Type: ${full ? 'message/rfc822' : 'text/rfc822-headers'}`,
        `Content-Description: ${full ? 'Original message' : 'Original message headers'}`,
        `Content-Transfer-Encoding: ${cte(orig8)}`,
        '',
        '',
      ].join(CRLF),
    );
    if (original.head.length) yield original.head;
    if (original.rest) {
      const check = boundaryGuard(boundary, original.head);
      for (let r = await original.rest.next(); !r.done; r = await original.rest.next()) {
        const chunk = toBuffer(r.value);
        check(chunk);
        yield chunk;
      }
    }
    yield Buffer.from(`${CRLF}--${boundary}--${CRLF}`);
  } finally {
    await original.rest?.return?.();
  }
}

function pickBoundary(random: (size: number) => Buffer, parts: Buffer[]): string {
  for (let i = 0; i < 16; i++) {
    const boundary = `postern-dsn-${random(18).toString('hex')}`;
    if (!parts.some((p) => p.includes(boundary))) return boundary;
  }
  throw new Error('buildDsn: no boundary free of collisions (is the random source broken?)');
}

/** A check for chunks streamed after `head`: throws when the boundary appears, across seams too. */
function boundaryGuard(boundary: string, head: Buffer): (chunk: Buffer) => void {
  const needle = Buffer.from(boundary);
  const keep = needle.length - 1;
  let tail = head.subarray(Math.max(0, head.length - keep));
  return (chunk) => {
    const seam = Buffer.concat([tail, chunk.subarray(0, keep)]);
    if (seam.includes(needle) || chunk.includes(needle)) {
      throw new Error('buildDsn: the MIME boundary occurs in the original message; build the DSN again');
    }
    tail = chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([tail, chunk]).subarray(-keep);
  };
}

// ---------------------------------------------------------------------------------------------
// The original message

interface Original {
  head: Buffer; // HDRS: the header; FULL: the whole original, or its first part when rest is set
  rest: AsyncIterator<string | Buffer> | null; // FULL and larger than the prefetch: the remainder
}

async function openOriginal(source: NodeJS.ReadableStream | Buffer, ret: 'HDRS' | 'FULL'): Promise<Original> {
  if (Buffer.isBuffer(source)) return { head: ret === 'HDRS' ? headerOf(source, true) : source, rest: null };
  const it = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) {
        const all = Buffer.concat(chunks);
        return { head: ret === 'HDRS' ? headerOf(all, true) : all, rest: null };
      }
      const chunk = toBuffer(r.value);
      chunks.push(chunk);
      size += chunk.length;
      if (ret === 'HDRS') {
        const all = Buffer.concat(chunks); // bounded by MAX_HEADER_BYTES plus one chunk
        if (findHeaderEnd(all, Math.max(0, size - chunk.length - 3)) >= 0 || size >= MAX_HEADER_BYTES) {
          await it.return?.(); // stop reading at the first empty line; releases the source
          return { head: headerOf(all, false), rest: null };
        }
      } else if (size >= PREFETCH_BYTES) {
        return { head: Buffer.concat(chunks), rest: it };
      }
    }
  } catch (err) {
    await it.return?.();
    throw err;
  }
}

/** Index just after the header's last CRLF (the empty line excluded), or -1. */
function findHeaderEnd(buf: Buffer, from: number): number {
  if (from === 0 && (buf[0] === 0x0a || (buf[0] === 0x0d && buf[1] === 0x0a))) return 0;
  const crlf = buf.indexOf('\r\n\r\n', from);
  const lf = buf.indexOf('\n\n', from);
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  return lf >= 0 ? lf + 1 : -1;
}

/** The header block of an original; `complete` says that buf holds the whole message. */
function headerOf(buf: Buffer, complete: boolean): Buffer {
  const end = findHeaderEnd(buf, 0);
  if (end >= 0 && end <= MAX_HEADER_BYTES) return buf.subarray(0, end);
  if (complete && buf.length <= MAX_HEADER_BYTES) return buf; // a message that is all header
  const cut = buf.subarray(0, MAX_HEADER_BYTES).lastIndexOf('\n');
  return buf.subarray(0, cut + 1);
}

function toBuffer(chunk: string | Buffer): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'utf8');
}

function has8bit(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! > 0x7f) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Part 2: message/delivery-status

function deliveryStatus(input: DsnInput, global: boolean): string {
  const v = (s: string) => (global ? s : asciiOnly(s));
  const perMessage = [
    field('Reporting-MTA', `dns; ${cleanHost(input.reportingMta)}`),
    field('X-Postern-Queue-ID', v(clean(input.queueId))),
    input.envelopeId && clean(input.envelopeId) ? field('Original-Envelope-Id', v(clean(input.envelopeId))) : '',
    field('Arrival-Date', rfc5322Date(input.arrivalDate)),
  ];
  const blocks = input.recipients.map((r) => {
    const remote = r.remoteMta ? cleanHost(r.remoteMta) : '';
    return [
      r.originalRecipient && clean(r.originalRecipient) ? field('Original-Recipient', v(typedAddress(r.originalRecipient))) : '',
      field('Final-Recipient', v(typedAddress(r.finalRecipient))),
      field('Action', r.action),
      field('Status', statusOf(r)),
      remote ? field('Remote-MTA', `dns; ${remote}`) : '',
      r.diagnosticCode && clean(r.diagnosticCode) ? field('Diagnostic-Code', v(diagnostic(r.diagnosticCode))) : '',
      validDate(r.lastAttemptDate) ? field('Last-Attempt-Date', rfc5322Date(r.lastAttemptDate)) : '',
      validDate(r.willRetryUntil) ? field('Will-Retry-Until', rfc5322Date(r.willRetryUntil)) : '',
    ].join('');
  });
  return [perMessage.join(''), ...blocks].join(CRLF);
}

/** RFC 6533: addresses that are not ASCII need message/global-delivery-status. */
function needsGlobal(input: DsnInput): boolean {
  const values = [input.envelopeId, input.queueId];
  for (const r of input.recipients) values.push(r.finalRecipient, r.originalRecipient);
  return values.some((s) => s && /[^\x00-\x7f]/.test(clean(s)));
}

function statusOf(r: DsnRecipient): string {
  const s = r.status.trim();
  if (/^[245]\.\d{1,3}\.\d{1,3}$/.test(s)) return s;
  return r.action === 'failed' ? '5.0.0' : r.action === 'delayed' ? '4.0.0' : '2.0.0';
}

/** "type; address": a value that already names its type ("rfc822;a@b") is kept as given. */
function typedAddress(value: string): string {
  const v = clean(value);
  if (/^[A-Za-z0-9-]+\s*;/.test(v)) return v;
  return `${/[^\x00-\x7f]/.test(v) ? 'utf-8' : 'rfc822'}; ${v}`;
}

/** A reply "550 ..." is typed smtp; a typed value is kept; anything else is ours (X-Postern). */
function diagnostic(value: string): string {
  const v = clean(value);
  if (/^\d{3}([ -]|$)/.test(v)) return `smtp; ${v}`;
  if (/^[A-Za-z][A-Za-z0-9-]*;\s/.test(v)) return v;
  return `X-Postern; ${v}`;
}

/** "Name: value" folded at spaces near 78 columns; the value is already one clean line. */
function field(name: string, value: string): string {
  let out = '';
  let line = `${name}:`;
  for (const word of value.split(' ').filter(Boolean)) {
    if (line.length + 1 + word.length > 78 && line.length > name.length + 1) {
      out += line + CRLF;
      line = ` ${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  return out + line + CRLF;
}

// ---------------------------------------------------------------------------------------------
// Part 1: the explanation for a person

const INTRO: Record<DsnAction, string> = {
  failed:
    'Your message could not be delivered to the recipients below. The mail system has given up ' +
    'and will not try again.',
  delayed:
    'Your message has not been delivered yet to the recipients below. There is nothing you need ' +
    'to do now: the mail system keeps trying.',
  delivered: 'Your message was delivered to the mail server of the recipients below.',
  relayed:
    "Your message was passed on to the recipients' mail system, which does not send delivery " +
    'reports. You may not hear more about it.',
  expanded:
    'Your message was delivered to the addresses below, which forward it to further recipients ' +
    '(a mailing list or an alias).',
};

/** What to do after a failure, by status code; "x.y." matches a whole subject, "" everything. */
const ADVICE: Array<[status: string, text: string]> = [
  ['5.1.10', 'The recipient\'s domain does not accept mail at all. Check the address for typing mistakes.'],
  ['5.1.1', 'This address does not exist at the recipient\'s mail server. Check it for typing mistakes; if it is right, ask the recipient for a working address.'],
  ['5.1.2', 'The recipient\'s domain does not exist or has no mail server. Check the part after the @ for typing mistakes.'],
  ['5.1.', 'The recipient address was not accepted. Check it for typing mistakes.'],
  ['5.2.2', 'The recipient\'s mailbox is full. Try again later, or reach the recipient another way.'],
  ['5.2.3', 'The message is too large for the recipient. Send smaller attachments, or share a link instead.'],
  ['5.3.4', 'The message is too large for the recipient. Send smaller attachments, or share a link instead.'],
  ['5.2.', 'The recipient\'s mailbox is disabled or does not accept mail. Reach the recipient another way.'],
  ['5.4.', 'The recipient\'s mail server could not be reached. Check the domain for typing mistakes; if it is right, try again later.'],
  ['5.6.', 'The recipient\'s mail server cannot handle this message\'s format (for example an international address). Try a plain address or a simpler message.'],
  ['5.7.', 'The recipient\'s mail server refused the message for security or policy reasons (often spam filtering or sender checks such as SPF, DKIM or DMARC). Reach the recipient another way, or send this report to your provider\'s support.'],
  ['', 'Reach the recipient another way, or forward this report to your provider\'s support: the details below help them.'],
];

function advice(status: string): string {
  const hit = ADVICE.find(([p]) => (p === '' || p.endsWith('.') ? status.startsWith(p) : status === p));
  return hit![1];
}

function humanText(input: DsnInput): string {
  const lines: string[] = [`This is the mail system at ${cleanHost(input.reportingMta)}.`, ''];
  const order: DsnAction[] = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'];
  for (const action of order) {
    const group = input.recipients.filter((r) => r.action === action);
    if (!group.length) continue;
    lines.push(...wrap(INTRO[action], ''), '');
    for (const r of group) lines.push(...recipientText(r), '');
  }
  lines.push(
    ...wrap(
      `For your mail administrator: queue ID ${clean(input.queueId)}, received ${rfc5322Date(input.arrivalDate)}. ` +
        `The machine-readable report follows, then the original message${input.ret === 'FULL' ? '' : "'s headers"}.`,
      '',
    ),
  );
  return lines.join(CRLF) + CRLF;
}

function recipientText(r: DsnRecipient): string[] {
  const address = typedAddress(r.finalRecipient).replace(/^[^;]*;\s*/, '');
  const out = [...wrap(address, '  ')];
  const reply = r.diagnosticCode ? readableReply(r.diagnosticCode) : '';
  const remote = r.remoteMta ? cleanHost(r.remoteMta) : '';
  const answered = /^\d{3}([ -]|$)/.test(reply); // an SMTP reply, not our own description
  if (remote && reply) {
    out.push(...wrap(answered ? `The mail server ${remote} answered: ${reply}` : `Problem with the mail server ${remote}: ${reply}`, '    '));
  } else if (reply) out.push(...wrap(`Reason: ${reply}`, '    '));
  else if (remote) out.push(...wrap(`Mail server: ${remote}`, '    '));
  if (r.action === 'failed') out.push(...wrap(`What to do: ${advice(statusOf(r))}`, '    '));
  if (r.action === 'delayed') {
    const until = validDate(r.willRetryUntil)
      ? `It keeps trying until ${rfc5322Date(r.willRetryUntil)}.`
      : 'It keeps trying for several days.';
    out.push(...wrap(`${until} If the message is still not delivered by then, it is returned to you with a final report.`, '    '));
  }
  return out;
}

/** A multi-line reply as one sentence: the code prefixes of the continuation lines go. */
function readableReply(reply: string): string {
  const lines = reply.split(/\r?\n/);
  const rest = lines.slice(1).map((l) => l.replace(/^\d{3}[ -](\d\.\d{1,3}\.\d{1,3}\s)?/, ''));
  return clean([lines[0], ...rest].join(' '));
}

/** Wraps at WRAP columns with an indent; words longer than a line are cut. */
function wrap(text: string, indent: string): string[] {
  const width = WRAP - indent.length;
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(' ').filter(Boolean)) {
    while (word.length > width) {
      if (line) lines.push(indent + line);
      lines.push(indent + word.slice(0, width));
      line = '';
      word = word.slice(width);
    }
    if (line && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Sanitising

/** One line: control characters (CR, LF, TAB, C1, U+2028/9) become spaces, runs collapse, cut. */
function clean(value: string | null | undefined): string {
  if (!value) return '';
  const line = value.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
  return truncate(line, MAX_VALUE_BYTES);
}

function truncate(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value, 'utf8') <= maxBytes) return value;
  let bytes = 0;
  let out = '';
  for (const ch of value) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > maxBytes - 3) break;
    out += ch;
  }
  return `${out}...`;
}

function asciiOnly(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, '?');
}

function cleanAddress(value: string): string {
  return clean(value).replace(/[<>\s]/g, '').slice(0, 320);
}

/** A host name or address literal: its first word, reduced to the characters hosts use. */
function cleanHost(value: string): string {
  return clean(value).split(' ')[0]!.replace(/[^A-Za-z0-9.:_[\]-]/g, '').slice(0, 255);
}

function validDate(d: Date | null | undefined): d is Date {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

/** RFC 5322 date-time in UTC, e.g. "Fri, 27 Nov 2026 23:35:03 +0000". */
function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}
