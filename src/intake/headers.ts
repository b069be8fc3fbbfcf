/**
 * Header fix-ups an MSA may make (RFC 6409 section 8), on the top-level header only: Received
 * on top, Message-ID and Date when missing, Bcc removed. Also reads what later steps need from
 * the header (Message-ID, From). Only the header block is parsed (with mailsplit's Headers);
 * the body streams through untouched, so a large message costs no per-line work here. A
 * reader (the DKIM signer) may ride along: it gets the header block as rewritten, then each
 * body chunk, in this one stream stage.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Headers } from '@zone-eu/mailsplit';
import { smtpError, rfc5322Date } from '../core/index.ts';

const CRLF = Buffer.from('\r\n');
const BLANK_LINE = Buffer.from('\r\n\r\n');
/** The largest header block accepted (mailsplit's own default). */
export const MAX_HEADER_BYTES = 1024 * 1024;

export interface HeaderFixups {
  received: string; // full header value, without "Received: "
  hostname: string; // right-hand side of generated Message-IDs
  queueId: string;
  now: Date;
  /** A From field value to add when the message has none (sendmail -F/-f); UTF-8. */
  addFrom?: string;
  /** Fields the sender must not supply (those the content scanner writes: a forged "No" must not pass). */
  strip?: readonly string[];
}

export interface HeaderFacts {
  messageId: string | null;
  from: string | null;
  /** Every From, Sender and Resent-From field value (UTF-8), for the header sender check. */
  senders: { from: string[]; sender: string[]; resentFrom: string[] };
  addedMessageId: boolean;
  addedDate: boolean;
  removedBcc: number;
  /** The Subject, encoded words decoded, at most 200 characters (message tracking), or null. */
  subject: string | null;
}

interface MailsplitHeaders {
  get(key: string): string[];
  getFirst(key: string): string;
  hasHeader(key: string): boolean;
  getList(): unknown[];
  add(key: string, value: string, index?: number): void;
  /** A string line is taken as binary (latin1): pass UTF-8 text as a Buffer. */
  addFormatted(key: string, line: string | Buffer, index?: number): void;
  remove(key: string): void;
  libmime: { decodeWords(s: string): string };
}

const SUBJECT_MAX = 200;

/** Reads the message as it will be stored, beside the rewrite: the header block once rewritten
 *  (with its blank line), then every body chunk in order. Must not throw. */
export interface MessageReader {
  header(block: Buffer): void;
  body(chunk: Buffer): void;
}

export { rfc5322Date };

export class HeaderRewriter extends Transform {
  private head: Buffer[] | null = []; // null once the header block has been rewritten
  private headBytes = 0;
  readonly facts: HeaderFacts = {
    messageId: null,
    from: null,
    senders: { from: [], sender: [], resentFrom: [] },
    addedMessageId: false,
    addedDate: false,
    removedBcc: 0,
    subject: null,
  };
  private readonly fix: HeaderFixups;
  private readonly reader: MessageReader | null;

  constructor(fix: HeaderFixups, reader: MessageReader | null = null) {
    super();
    this.fix = fix;
    this.reader = reader;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.head) {
      this.reader?.body(chunk);
      return cb(null, chunk);
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    const all = this.head.length === 1 ? chunk : Buffer.concat(this.head, this.headBytes);
    // A message may start with the blank line (no header at all).
    const end = all.subarray(0, 2).equals(CRLF) ? 0 : all.indexOf(BLANK_LINE, Math.max(0, this.headBytes - chunk.length - 3));
    if (end === -1) {
      this.head = [all];
      if (this.headBytes > MAX_HEADER_BYTES) return cb(smtpError(552, '5.3.4', `Message header larger than ${MAX_HEADER_BYTES} bytes`));
      return cb();
    }
    this.head = null;
    try {
      this.push(this.rewritten(all.subarray(0, end)));
    } catch (err) {
      return cb(err as Error);
    }
    const body = all.subarray(end === 0 ? 2 : end + 4);
    if (body.length) this.reader?.body(body);
    cb(null, body);
  }

  override _flush(cb: TransformCallback): void {
    // A message that is all header (no blank line, no body).
    if (this.head) {
      const all = Buffer.concat(this.head, this.headBytes);
      this.head = null;
      const block = all.subarray(all.length - 2).equals(CRLF) ? all.subarray(0, all.length - 2) : all;
      try {
        this.push(this.rewritten(block));
      } catch (err) {
        return cb(err as Error);
      }
    }
    cb();
  }

  /** The header block (without its blank line) rewritten, with the blank line. */
  private rewritten(block: Buffer): Buffer {
    const h = new Headers(block) as unknown as MailsplitHeaders & { build(): Buffer; mbox: string | false; http: string | false };
    h.get('from'); // parses
    // "From x" or "POST x" as the first line is not a header field (mailsplit keeps it aside):
    // it would hide a forged From from the checks and still reach the recipient
    if (h.mbox || h.http) throw smtpError(550, '5.6.0', 'The first line of the message header is not a header field');
    this.rewrite(h);
    const built = h.build();
    this.reader?.header(built);
    return built;
  }

  private rewrite(h: MailsplitHeaders): void {
    const existingId = h.getFirst('message-id').trim();
    if (existingId) {
      this.facts.messageId = existingId;
    } else {
      const id = `<${this.fix.queueId}@${this.fix.hostname}>`;
      h.add('Message-ID', id, h.getList().length); // after any trace fields
      this.facts.messageId = id;
      this.facts.addedMessageId = true;
    }
    if (!h.hasHeader('date')) {
      h.add('Date', rfc5322Date(this.fix.now), h.getList().length);
      this.facts.addedDate = true;
    }
    if (this.fix.addFrom && !h.hasHeader('from'))
      h.addFormatted('From', Buffer.from(`From: ${this.fix.addFrom}`, 'utf8'), h.getList().length);
    for (const key of this.fix.strip ?? []) h.remove(key);
    this.facts.removedBcc = h.get('bcc').length;
    if (this.facts.removedBcc) h.remove('bcc');
    this.facts.from = h.getFirst('from') || null;
    // mailsplit's get() decodes the raw (binary) header text to UTF-8 itself
    this.facts.senders = { from: h.get('from'), sender: h.get('sender'), resentFrom: h.get('resent-from') };
    this.facts.subject = subjectOf(h);
    // Added last with index 0 so that it is the topmost line.
    h.addFormatted('Received', Buffer.from(`Received: ${this.fix.received}`, 'utf8'), 0); // UTF-8 addresses stay UTF-8
  }
}

/** The Subject with its encoded words decoded (mailsplit's own libmime), at most SUBJECT_MAX characters; raw when it cannot be decoded. */
function subjectOf(h: MailsplitHeaders): string | null {
  const raw = h.getFirst('subject');
  if (!raw) return null;
  let text = raw;
  try {
    text = h.libmime.decodeWords(raw);
  } catch {
    // an unknown charset or a broken encoded word: keep the raw text
  }
  return text.slice(0, SUBJECT_MAX);
}
