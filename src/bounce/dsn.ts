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
import { rfc5322Date } from '../core/index.ts';
import { humanText } from './explain.ts';
import { CRLF, clean, asciiOnly, cleanAddress, cleanHost, validDate, statusOf, typedAddress } from './values.ts';

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
  /** What to do, when this mail system refused the message itself (not a recipient's server). */
  localAdvice?: string;
  /** Source of randomness for the boundary and the Message-ID; tests replace it. */
  random?: (size: number) => Buffer;
}

const MAX_HEADER_BYTES = 256 * 1024; // RET=HDRS: a longer original header is cut at a line end
const PREFETCH_BYTES = 256 * 1024; // RET=FULL: smaller originals are checked whole before sending

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
