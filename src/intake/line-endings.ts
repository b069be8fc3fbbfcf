/**
 * The bare-LF / bare-CR guard. smtp-server ends DATA only on CRLF.CRLF but passes a lone LF or
 * CR through as content; a later hop might read those as line ends (SMTP smuggling). Here
 * every lone LF or CR becomes CRLF ('normalize') or the message is refused ('reject'), and
 * lines longer than the limit are refused, so the spool only ever holds CRLF lines.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { smtpError } from '../core/index.ts';

const CR = 13;
const LF = 10;
/** A LF without a CR before it, or a CR without a LF after it (but at the very end). */
const BARE = /(?<!\r)\n|\r(?!\n|$)/;

export interface LineEndingOptions {
  mode: 'normalize' | 'reject';
  maxLineLength: number;
}

export class LineEndingGuard extends Transform {
  private readonly opts: LineEndingOptions;
  private pendingCR = false; // previous chunk ended with CR
  private lineLength = 0; // bytes since the last LF
  normalized = 0; // how many lone line ends were rewritten

  constructor(opts: LineEndingOptions) {
    super();
    this.opts = opts;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      cb(null, this.process(chunk));
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.pendingCR) {
      this.pendingCR = false;
      if (this.opts.mode === 'reject') return cb(bareError());
      this.normalized++;
      return cb(null, Buffer.from([LF]));
    }
    cb();
  }

  private process(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    if (this.isClean(chunk)) return chunk;
    if (this.opts.mode === 'reject') throw bareError();
    let start = 0;
    const parts: Buffer[] = [];
    let i = 0;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk[0] === LF) {
        parts.push(chunk.subarray(0, 1));
        start = i = 1;
      } else {
        parts.push(Buffer.from([LF]));
        this.normalized++;
      }
    }
    for (; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === LF && (i === 0 || chunk[i - 1] !== CR)) {
        parts.push(chunk.subarray(start, i), Buffer.from([CR, LF]));
        start = i + 1;
        this.normalized++;
      } else if (b === CR) {
        if (i === chunk.length - 1) {
          parts.push(chunk.subarray(start, i + 1));
          start = i + 1;
          this.pendingCR = true;
        } else if (chunk[i + 1] !== LF) {
          parts.push(chunk.subarray(start, i), Buffer.from([CR, LF]));
          start = i + 1;
          this.normalized++;
        }
      }
    }
    parts.push(chunk.subarray(start));
    const result = Buffer.concat(parts);
    this.trackLines(result);
    return result;
  }

  /** Fast path: true when every CR in the chunk is followed by LF and every LF preceded by CR
   *  (one regular-expression test over the chunk; a CR at its very end may be completed by the next). */
  private isClean(chunk: Buffer): boolean {
    if (!chunk.length) return true;
    if (this.pendingCR !== (chunk[0] === LF)) return false; // a CR LF split between chunks, or a bare one
    const text = chunk.toString('latin1', chunk[0] === LF ? 1 : 0);
    if (BARE.test(text)) return false;
    this.pendingCR = chunk[chunk.length - 1] === CR;
    this.trackLines(chunk);
    return true;
  }

  private trackLines(chunk: Buffer): void {
    let last = -1;
    let pos = chunk.indexOf(LF);
    while (pos !== -1) {
      const len = last === -1 ? this.lineLength + pos : pos - last - 1;
      if (len > this.opts.maxLineLength + 1) throw longLineError(this.opts.maxLineLength);
      last = pos;
      pos = chunk.indexOf(LF, pos + 1);
    }
    this.lineLength = last === -1 ? this.lineLength + chunk.length : chunk.length - last - 1;
    if (this.lineLength > this.opts.maxLineLength + 1) throw longLineError(this.opts.maxLineLength);
  }
}

function bareError() {
  return smtpError(550, '5.5.2', 'Message contains bare CR or LF characters; lines must end with CRLF (RFC 5321 2.3.8)');
}

function longLineError(max: number) {
  return smtpError(550, '5.5.2', `Message contains a line longer than ${max} bytes`);
}
