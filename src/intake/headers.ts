/**
 * Header fix-ups an MSA may make (RFC 6409 section 8), on the top-level header only, streamed
 * with mailsplit: Received on top, Message-ID and Date when missing, Bcc removed. Also reads
 * what later steps need from the header (Message-ID, From addresses).
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface HeaderFixups {
  received: string; // full header value, without "Received: "
  hostname: string; // right-hand side of generated Message-IDs
  queueId: string;
  now: Date;
}

export interface HeaderFacts {
  messageId: string | null;
  from: string | null;
  addedMessageId: boolean;
  addedDate: boolean;
  removedBcc: number;
}

interface MailsplitHeaders {
  get(key: string): string[];
  getFirst(key: string): string;
  hasHeader(key: string): boolean;
  getList(): unknown[];
  add(key: string, value: string, index?: number): void;
  addFormatted(key: string, line: string, index?: number): void;
  remove(key: string): void;
}

interface SplitNode {
  type: string;
  root?: boolean;
  headers?: MailsplitHeaders;
}

/** RFC 5322 date-time in UTC: "Fri, 27 Nov 2026 23:35:03 +0000". */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

export class HeaderRewriter extends Transform {
  private done = false;
  readonly facts: HeaderFacts = { messageId: null, from: null, addedMessageId: false, addedDate: false, removedBcc: 0 };
  private readonly fix: HeaderFixups;

  constructor(fix: HeaderFixups) {
    super({ objectMode: true });
    this.fix = fix;
  }

  override _transform(node: SplitNode, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.done && node.type === 'node' && node.root && node.headers) {
      this.done = true;
      this.rewrite(node.headers);
    }
    cb(null, node);
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
    this.facts.removedBcc = h.get('bcc').length;
    if (this.facts.removedBcc) h.remove('bcc');
    this.facts.from = h.getFirst('from') || null;
    // Added last with index 0 so that it is the topmost line.
    h.addFormatted('Received', `Received: ${this.fix.received}`, 0);
  }
}
