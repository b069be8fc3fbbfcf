/**
 * nodemailer's DATA transform (dot-stuffing, bare CR and bare LF turned into CRLF) looks at
 * every byte of the body in JavaScript: for a 100 KiB message that loop was the largest single
 * cost of a delivery (docs/benchmarks.md, issue 22). This replaces its _transform, once, by one
 * that lets Buffer.indexOf find the line ends and looks only at the bytes around them, with the
 * same output for every input (a test feeds both the same random chunks).
 */
import DataStream from 'nodemailer/lib/smtp-connection/data-stream.js';

const CR = 13;
const LF = 10;
const DOT = 46;
const INSERT_LF = Buffer.from('\n');
const INSERT_LF_DOT = Buffer.from('\n.');
const INSERT_CR = Buffer.from('\r');
const INSERT_DOT = Buffer.from('.');

interface DataStreamState {
  inByteCount: number;
  outByteCount: number;
  /** The last byte of the previous chunk; false before the first. */
  lastByte: number | false;
  push(chunk: Buffer): boolean;
}
type TransformFn = (this: DataStreamState, chunk: Buffer | string, encoding: BufferEncoding, done: () => void) => void;

/** What goes before byte i given the byte before it (nodemailer's rules, in its order). */
function insertAt(b: number, prev: number | false): Buffer | null {
  if (prev === CR && b !== LF) return b === DOT ? INSERT_LF_DOT : INSERT_LF;
  if (b === LF && prev !== CR) return INSERT_CR;
  if (b === DOT && (prev === LF || prev === false)) return INSERT_DOT;
  return null;
}

/** Whether anything past byte 0 needs an insert: a bare CR, a bare LF, or a dot after LF. */
const TRIGGER = /\r(?!\n)|(?<!\r)\n|\n\./;

/**
 * The transform by line ends. Most chunks of a stored body (CRLF only, no line starting with a
 * dot) need nothing: one regular-expression test over the chunk finds that. Otherwise only
 * byte 0, each CR or LF and each byte after one can change, and Buffer.indexOf finds those.
 */
export const lineTransform: TransformFn = function (chunk, _encoding, done) {
  if (!chunk || !chunk.length) return done();
  const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  const len = buf.length;
  this.inByteCount += len;
  if (!insertAt(buf[0]!, this.lastByte) && !TRIGGER.test(buf.toString('latin1'))) {
    this.outByteCount += len;
    this.push(buf);
    this.lastByte = buf[len - 1]!;
    return done();
  }
  const parts: Buffer[] = [];
  let from = 0;
  let outLen = 0;
  let checked = -1;
  const at = (i: number) => {
    if (i <= checked || i >= len) return;
    checked = i;
    const ins = insertAt(buf[i]!, i ? buf[i - 1]! : this.lastByte);
    if (!ins) return;
    if (i > from) {
      parts.push(buf.subarray(from, i));
      outLen += i - from;
    }
    parts.push(ins);
    outLen += ins.length;
    from = i;
  };
  at(0);
  let cr = buf.indexOf(CR);
  let lf = buf.indexOf(LF);
  while (cr !== -1 || lf !== -1) {
    const p = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
    if (p === lf) at(p);
    at(p + 1);
    if (p === cr) cr = buf.indexOf(CR, p + 1);
    else lf = buf.indexOf(LF, p + 1);
  }
  if (parts.length) {
    parts.push(buf.subarray(from));
    outLen += len - from;
    this.outByteCount += outLen;
    this.push(Buffer.concat(parts, outLen));
  } else {
    this.outByteCount += len;
    this.push(buf);
  }
  this.lastByte = buf[len - 1]!;
  done();
};

const proto = DataStream.prototype as unknown as { _transform: TransformFn };
/** nodemailer's own, kept for the equivalence test. */
export const byteTransform: TransformFn = proto._transform;

let applied = false;
export function patchDataStream(): void {
  if (applied) return;
  applied = true;
  proto._transform = lineTransform;
}
