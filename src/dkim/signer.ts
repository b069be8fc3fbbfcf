/**
 * DKIM signing as a stream tap: the message flows through unchanged (to the spool) while the
 * tap reads its header block, finds the signing keys of the From domain, and hashes the body
 * (relaxed/relaxed, SHA-256) chunk by chunk; nothing is buffered beyond the header. At the end
 * `signatures()` gives the DKIM-Signature fields (one per key: RSA, and Ed25519 when enabled)
 * that delivery puts on top of the message. The header set is mailauth's recommended one, with
 * From over-signed (listed once more than present in h=, so a second From added later breaks
 * the signature). Header canonicalisation and formatting are mailauth's; the body hash is
 * relaxed-body.ts (mailauth's looks at every byte in JavaScript: ten times the SHA-256).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import type Tools from 'mailauth/lib/tools.js';
import type Relaxed from 'mailauth/lib/dkim/header/relaxed.js';
import type { DkimAlgorithm } from './records.ts';
import { RelaxedBodyHash } from './relaxed-body.ts';

// mailauth's modules take ~100 ms to load (joi, libmime, tldts): they are loaded at the first
// signature (or by loadSigningLibraries() when the server starts), not by every `postern`
// command that reaches this folder.
const requireCjs = createRequire(import.meta.url);
let libs: { tools: typeof Tools; relaxed: typeof Relaxed } | null = null;

/** Loads the signing libraries now (the server calls it at start when DKIM is on). */
export function loadSigningLibraries(): NonNullable<typeof libs> {
  return (libs ??= {
    tools: requireCjs('mailauth/lib/tools.js') as typeof Tools,
    relaxed: requireCjs('mailauth/lib/dkim/header/relaxed.js') as typeof Relaxed,
  });
}

export interface SigningKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKey: KeyObject;
}

export interface DkimTapOptions {
  /** The active keys of a domain (none: the message goes unsigned). */
  keysFor(domain: string): Promise<SigningKey[]>;
  now(): number;
}

const MAX_HEADER = 1024 * 1024;
/** With a callback, crypto.sign runs on libuv's thread pool: the private-key operation (the
 *  bulk of the cost for RSA) leaves the event loop free for other sessions. */
const signAsync = promisify(sign) as (alg: string | null, data: Buffer, key: KeyObject) => Promise<Buffer>;
const BLANK = Buffer.from('\r\n\r\n');

/** The domain of the first From address, lower-case, or null. */
export function fromDomain(parsed: { key: string | null; line: Buffer }[]): string | null {
  const from = parsed.find((h) => h.key === 'from');
  if (!from) return null;
  const value = from.line
    .toString('utf8')
    .replace(/^[^:]*:/, '')
    .replace(/\r\n[ \t]/g, ' ');
  const first = (addressparser(value, { flatten: true }) as { address?: string }[]).find((a) => a.address)?.address ?? '';
  const at = first.lastIndexOf('@');
  return at > 0 ? first.slice(at + 1).toLowerCase() : null;
}

export class DkimTap extends Transform {
  private head: Buffer[] | null = [];
  private headBytes = 0;
  private parsed: ReturnType<typeof Tools.parseHeaders>['parsed'] = [];
  private keys: SigningKey[] = [];
  private hasher: RelaxedBodyHash | null = null;
  /** The From domain looked up (null: no From); set once the header was read. */
  domain: string | null = null;
  private readonly opts: DkimTapOptions;

  constructor(opts: DkimTapOptions) {
    super();
    this.opts = opts;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.head) {
      this.hasher?.update(chunk);
      return cb(null, chunk);
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    const all = Buffer.concat(this.head, this.headBytes);
    const end = all.subarray(0, 2).toString() === '\r\n' ? 0 : all.indexOf(BLANK, Math.max(0, this.headBytes - chunk.length - 3));
    if (end === -1) {
      this.head = [all];
      if (this.headBytes > MAX_HEADER) this.head = null; // intake refuses it anyway; never sign
      return cb(null, chunk);
    }
    this.head = null;
    this.startBody(all.subarray(0, end + 2), all.subarray(end === 0 ? 2 : end + 4)).then(() => cb(null, chunk), cb);
  }

  override _flush(cb: TransformCallback): void {
    if (this.head) {
      // a message that is all header (no blank line)
      const all = Buffer.concat(this.head, this.headBytes);
      this.head = null;
      this.startBody(all, Buffer.alloc(0)).then(() => cb(), cb);
      return;
    }
    cb();
  }

  private async startBody(header: Buffer, bodyStart: Buffer): Promise<void> {
    this.parsed = loadSigningLibraries().tools.parseHeaders(header).parsed;
    this.domain = fromDomain(this.parsed);
    this.keys = this.domain ? await this.opts.keysFor(this.domain) : [];
    if (!this.keys.length) return;
    this.hasher = new RelaxedBodyHash('sha256');
    if (bodyStart.length) this.hasher.update(bodyStart);
  }

  /** The DKIM-Signature fields (each ending with CRLF), or '' when unsigned. Call after the end. */
  async signatures(): Promise<string> {
    if (!this.hasher || !this.keys.length) return '';
    const bodyHash = this.hasher.digest('base64');
    const { tools, relaxed } = loadSigningLibraries();
    const lines = tools.getSigningHeaderLines(this.parsed, tools.defaultDKIMFieldNames);
    // over-sign From: h= names it once more than the message has it
    const signing = { keys: `${lines.keys}: From`, headers: lines.headers };
    const out = await Promise.all(
      this.keys.map(async (k) => {
        const { canonicalizedHeader, dkimHeaderOpts } = relaxed.relaxedHeaders('DKIM', signing, {
          signingDomain: k.domain,
          selector: k.selector,
          algorithm: k.algorithm,
          canonicalization: 'relaxed/relaxed',
          bodyHash,
          signTime: new Date(this.opts.now()),
        });
        const rsa = k.algorithm === 'rsa-sha256';
        dkimHeaderOpts.b = (
          await signAsync(
            rsa ? 'rsa-sha256' : null,
            rsa ? canonicalizedHeader : createHash('sha256').update(canonicalizedHeader).digest(),
            k.privateKey,
          )
        ).toString('base64');
        return tools.formatSignatureHeaderLine('DKIM', dkimHeaderOpts, true) + '\r\n';
      }),
    );
    return out.join('');
  }

  /** Selectors that signed (after signatures()). */
  selectors(): string[] {
    return this.hasher ? this.keys.map((k) => `${k.domain}/${k.selector}`) : [];
  }
}
