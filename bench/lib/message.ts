/**
 * Test messages of an exact size (headers included, final CRLF included, the "." terminator
 * not), each with its own Message-ID. Body lines never start with "." (no dot-stuffing needed)
 * and stay far below 998 octets.
 */
import { randomBytes } from 'node:crypto';

const LINE = 78; // characters per body line, CRLF not counted
const SEQ_WIDTH = 12;

export interface MessageFactory {
  readonly size: number;
  /** The n-th message: same size, unique Message-ID. */
  make(n: number): Buffer;
}

function bodyOf(length: number): Buffer {
  if (length < 2) throw new Error(`headers leave no room for a body (${length} bytes)`);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';
  const lines: string[] = [];
  let left = length;
  let i = 0;
  while (left > 0) {
    // the last two lines share what is left so that no line needs fewer than 0 characters
    let n = Math.min(LINE, left - 2);
    if (left - (n + 2) === 1) n -= 1; // a lone byte cannot form a line; leave 3 (1 char + CRLF)
    let s = '';
    for (let k = 0; k < n; k++) s += alphabet[(i * 7 + k * 13) % (alphabet.length - 1)]; // no space at k=0
    if (n > 0 && s[0] === ' ') s = 'x' + s.slice(1);
    lines.push(s + '\r\n');
    left -= n + 2;
    i++;
  }
  return Buffer.from(lines.join(''), 'latin1');
}

export function createMessageFactory(o: { size: number; from: string; to: string[]; runId?: string }): MessageFactory {
  const runId = o.runId ?? randomBytes(6).toString('hex');
  const date = new Date().toUTCString().replace('GMT', '+0000');
  const headerOf = (n: number) =>
    `From: Bench <${o.from}>\r\n` +
    `To: ${o.to.map((t) => `<${t}>`).join(', ')}\r\n` +
    `Subject: postern bench ${o.size} bytes\r\n` +
    `Date: ${date}\r\n` +
    `Message-ID: <${String(n).padStart(SEQ_WIDTH, '0')}.${runId}@bench.postern.test>\r\n` +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=us-ascii\r\n' +
    '\r\n';
  const headerLength = Buffer.byteLength(headerOf(0), 'latin1');
  const body = bodyOf(o.size - headerLength);
  return {
    size: o.size,
    make(n) {
      const m = Buffer.concat([Buffer.from(headerOf(n), 'latin1'), body]);
      if (m.length !== o.size) throw new Error(`message ${n} has ${m.length} bytes, not ${o.size}`);
      return m;
    },
  };
}
