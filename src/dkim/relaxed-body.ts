/**
 * The DKIM body hash with relaxed canonicalisation (RFC 6376 section 3.4.4), for the signer.
 * mailauth's hasher looks at every byte in JavaScript (and scans for MIME boundaries it does
 * not need when signing): about ten times the cost of the SHA-256 itself. Here a block of
 * whole lines that needs no change (no tab, no run of spaces, no space before the line end:
 * one regular-expression test finds that, and it is nearly every block) goes to the hash as
 * it is; only its trailing empty lines wait, since they count only if a line with content
 * follows. Other blocks are canonicalised line by line. The input is CRLF lines (intake's
 * line-ending guard runs before the signer); a test checks the result against mailauth's
 * hasher over random bodies and chunkings.
 */
import { createHash, type Hash } from 'node:crypto';

const CR = 13;
const LF = 10;
const CRLF = Buffer.from('\r\n');
/** A line that relaxed canonicalisation changes, or a line end that is not CRLF. */
const NEEDS_WORK = /\t| {2}| \r\n|(?<!\r)\n|\r(?!\n)/;

export class RelaxedBodyHash {
  private readonly hash: Hash;
  /** Bytes after the last LF seen (a line not yet complete). */
  private carry: Buffer | null = null;
  /** Empty lines seen since the last line with content: hashed only if content follows. */
  private emptyLines = 0;

  constructor(algorithm: 'sha256' | 'sha1' = 'sha256') {
    this.hash = createHash(algorithm);
  }

  update(chunk: Buffer): void {
    if (!chunk.length) return;
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    const lastLf = buf.lastIndexOf(LF);
    if (lastLf + 1 < buf.length) this.carry = Buffer.from(buf.subarray(lastLf + 1));
    if (lastLf === -1) return;
    const block = buf.subarray(0, lastLf + 1);
    const text = block.toString('latin1');
    if (NEEDS_WORK.test(text)) this.lineByLine(text);
    else this.asIs(block);
  }

  digest(encoding: 'base64' | 'hex' = 'base64'): string {
    if (this.carry) {
      // the body does not end with CRLF: its last line gets one (if it has content)
      this.line(this.carry.toString('latin1').replace(/\r$/, ''));
      this.carry = null;
    }
    return this.hash.digest(encoding);
  }

  /** Whole lines already canonical: hashed at once, trailing empty lines held back. */
  private asIs(block: Buffer): void {
    let end = block.length;
    let trailing = 0;
    while (end >= 2 && block[end - 1] === LF && block[end - 2] === CR && (end === 2 || block[end - 3] === LF)) {
      end -= 2;
      trailing++;
    }
    if (end > 0) {
      this.flushEmptyLines();
      this.hash.update(block.subarray(0, end));
    }
    this.emptyLines += trailing;
  }

  private lineByLine(text: string): void {
    for (let start = 0; start < text.length; ) {
      const lf = text.indexOf('\n', start);
      const end = lf > start && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
      this.line(text.slice(start, end));
      start = lf + 1;
    }
  }

  /** One line's content (no line end): runs of WSP become one SP, trailing WSP goes. */
  private line(content: string): void {
    const canon = content.replace(/[ \t]+/g, ' ').replace(/ $/, '');
    if (!canon) {
      this.emptyLines++;
      return;
    }
    this.flushEmptyLines();
    this.hash.update(canon, 'latin1');
    this.hash.update(CRLF);
  }

  private flushEmptyLines(): void {
    for (; this.emptyLines > 0; this.emptyLines--) this.hash.update(CRLF);
  }
}
