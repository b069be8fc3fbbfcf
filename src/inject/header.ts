/**
 * Reading the header block of a message that did not come over SMTP, before intake streams
 * it: sendmail -t and the send API need the recipients (To, Cc, Bcc) and the From address to
 * build the envelope. Only the header is held in memory (bounded); the body keeps streaming.
 */
import { Readable } from 'node:stream';
import { Headers } from '@zone-eu/mailsplit';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { because, smtpError } from '../core/index.ts';
import { MAX_HEADER_BYTES } from '../intake/index.ts';

export interface HeaderBlock {
  /** The header bytes with the blank line (or everything, for a message without a body). */
  head: Buffer;
  /** The whole message again: the header, then the rest of the source. */
  message: Readable;
}

/** The end of the header block: the index after the blank line (LF or CRLF line ends), or -1. */
export function headerEnd(buf: Buffer, from = 0): number {
  if (buf[0] === 0x0a) return 1;
  if (buf[0] === 0x0d && buf[1] === 0x0a) return 2;
  for (let i = buf.indexOf(0x0a, Math.max(0, from)); i !== -1 && i < buf.length - 1; i = buf.indexOf(0x0a, i + 1)) {
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

export async function readHeaderBlock(source: Readable, maxBytes = MAX_HEADER_BYTES): Promise<HeaderBlock> {
  // chunks are kept as they come and only the newly arrived bytes (with the last 3 before
  // them, for a blank line split across chunks) are searched: linear in the header size
  const chunks: Buffer[] = [];
  let size = 0;
  let tail = Buffer.alloc(0);
  const it = source[Symbol.asyncIterator]();
  let end = -1;
  while (end === -1) {
    const next = await it.next();
    if (next.done) break;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    const window = Buffer.concat([tail, chunk]);
    // near the start the window is the whole message so far (a message may begin with its blank line)
    const found = size < 3 ? headerEnd(window) : headerEndAfter(window, tail.length);
    if (found !== -1) end = size - tail.length + found;
    chunks.push(chunk);
    size += chunk.length;
    tail = window.subarray(Math.max(0, window.length - 3));
    if (end === -1 && size > maxBytes) {
      source.destroy();
      throw because(smtpError(552, '5.3.4', `Message header larger than ${maxBytes} bytes`), 'size');
    }
  }
  const all = Buffer.concat(chunks, size);
  const head = end === -1 ? all : all.subarray(0, end);
  const rest = end === -1 ? null : all.subarray(end);
  async function* whole() {
    yield head;
    if (rest?.length) yield rest;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  }
  return { head, message: Readable.from(whole(), { objectMode: false }) };
}

/** headerEnd for a window whose first `carried` bytes were searched before (a blank line may end in the new part). */
function headerEndAfter(window: Buffer, carried: number): number {
  for (let i = window.indexOf(0x0a); i !== -1 && i < window.length - 1; i = window.indexOf(0x0a, i + 1)) {
    if (window[i + 1] === 0x0a && i + 1 >= carried) return i + 2;
    if (window[i + 1] === 0x0d && window[i + 2] === 0x0a && i + 2 >= carried) return i + 3;
  }
  return -1;
}

export interface EnvelopeFields {
  /** Addresses of the From field(s). */
  from: string[];
  /** Recipients per sendmail -t: To, Cc and Bcc, or the Resent- ones when the message has them. */
  recipients: string[];
}

interface Parsed {
  address?: string;
  group?: Parsed[];
}

function addressesOf(lines: string[]): string[] {
  const out: string[] = [];
  const walk = (list: Parsed[]) => {
    for (const p of list) {
      if (p.group) walk(p.group);
      else if (p.address) out.push(p.address);
    }
  };
  for (const line of lines) walk(addressparser(line.replace(/^[^:]*:\s*/, '').replace(/\r?\n[ \t]+/g, ' ')) as Parsed[]);
  return out;
}

export function envelopeFields(head: Buffer): EnvelopeFields {
  const h = new Headers(head) as unknown as { get(k: string): string[]; mbox: string | false; http: string | false };
  const get = (k: string) => h.get(k);
  if (h.mbox || h.http) throw because(smtpError(550, '5.6.0', 'The first line of the message header is not a header field'), 'data');
  const resent = ['resent-to', 'resent-cc', 'resent-bcc'].some((k) => get(k).length > 0);
  const fields = resent ? ['resent-to', 'resent-cc', 'resent-bcc'] : ['to', 'cc', 'bcc'];
  return { from: addressesOf(get('from')), recipients: addressesOf(fields.flatMap(get)) };
}
