/**
 * DKIM signing (RFC 6376, relaxed/relaxed, SHA-256; RFC 8463 for Ed25519) fed by intake's header
 * rewriter: it hands over the header block it has just built (what the spool will hold) and
 * then each body chunk as it passes. So the signer adds no stream stage and does not parse or
 * buffer the message again: the header block is split into fields once here, the body is hashed
 * chunk by chunk (relaxed-body.ts). The From domain's keys are looked up while the body flows.
 * At the end `signatures()` gives the DKIM-Signature fields (one per key: RSA, and Ed25519 when
 * enabled) that delivery puts on top of the message.
 *
 * The signed header set is mailauth's recommended one (every instance, bottom-up), with From
 * over-signed: h= names it once more than the message has it, so a From added later breaks the
 * signature. Canonicalisation and the signature field are built here rather than by mailauth:
 * its signing helpers re-parse the header block and fold with libmime, about 140 µs of a 2 KiB
 * message's signing where the hashing is 10 µs (docs/benchmarks.md). Its whitespace class also
 * includes bytes RFC 6376 does not (0xA0, a UTF-8 continuation byte), which would break an 8-bit
 * header's signature at a verifier that follows the RFC. signer.test.ts checks these fields
 * against mailauth's canonicalisation and verifies the signatures with mailauth.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import type { DkimAlgorithm } from './records.ts';
import { RelaxedBodyHash } from './relaxed-body.ts';

export interface SigningKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKey: KeyObject;
}

export interface DkimSignerOptions {
  /** The active keys of a domain (none: the message goes unsigned). */
  keysFor(domain: string): Promise<SigningKey[]>;
  now(): number;
}

/** The fields signed when present (mailauth's default list, RFC 6376 section 5.4.1's advice). */
export const SIGNED_FIELDS: readonly string[] = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'Resent-Date',
  'Resent-From',
  'Resent-Sender',
  'Resent-To',
  'Resent-Cc',
  'Resent-Message-ID',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
  'BIMI-Selector',
];
const SIGNED = new Set(SIGNED_FIELDS.map((n) => n.toLowerCase()));

/** With a callback, crypto.sign runs on libuv's thread pool: the RSA private-key operation (the
 *  bulk of the cost) leaves the event loop free for other sessions. An Ed25519 signature costs
 *  less than the hand-off to the pool (about 60 against 40 µs of CPU on a slow core), so it is
 *  made in place. */
const signAsync = promisify(sign) as (alg: string | null, data: Buffer, key: KeyObject) => Promise<Buffer>;
const CRLF = '\r\n';
/** Where a header field starts: after a CRLF not followed by folding whitespace. */
const FIELD_BREAK = /\r\n(?![ \t])/;
/** Folded lines of the signature field stay within this many characters. */
const LINE = 76;

/** A header field selected for signing: its name as written and its relaxed canonical form. */
interface SignedField {
  name: string;
  canonical: string;
}

/** RFC 6376 section 3.4.2: name lower-cased, unfolded, runs of WSP (space, tab) as one space,
 *  none at the end of the value or around the colon. `field` is a latin1 (byte) string. */
export function relaxedHeaderField(field: string): string {
  const colon = field.indexOf(':');
  const name = field
    .slice(0, colon)
    .replace(/[ \t]+$/, '')
    .toLowerCase();
  const value = field
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, ''); // not trim(): that would take 0xA0 too
  return `${name}:${value}`;
}

/** The domain of the first From address, lower-case, or null. `field` is the whole From field
 *  as a latin1 (byte) string. */
export function fromDomain(field: string): string | null {
  const value = Buffer.from(field, 'latin1')
    .toString('utf8')
    .replace(/^[^:]*:/, '')
    .replace(/\r\n[ \t]/g, ' ');
  const first = (addressparser(value, { flatten: true }) as { address?: string }[]).find((a) => a.address)?.address ?? '';
  const at = first.lastIndexOf('@');
  return at > 0 ? first.slice(at + 1).toLowerCase() : null;
}

/**
 * The header block's fields to sign, bottom-up as RFC 6376 section 5.4.2 has a signer list
 * repeated fields, and the first From field (for the signing domain). `block` is the whole
 * header block, with or without its blank line.
 */
export function signingFields(block: Buffer): { fields: SignedField[]; from: string | null } {
  const text = block.toString('latin1');
  let end = text.length;
  while (end >= 2 && text.charCodeAt(end - 1) === 10 && text.charCodeAt(end - 2) === 13) end -= 2;
  const fields: SignedField[] = [];
  let from: string | null = null;
  for (const field of end ? text.slice(0, end).split(FIELD_BREAK) : []) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim();
    const key = name.toLowerCase();
    if (!SIGNED.has(key)) continue;
    if (key === 'from' && from === null) from = field;
    fields.push({ name, canonical: relaxedHeaderField(field) });
  }
  return { fields: fields.reverse(), from };
}

/** What a signature field holds besides b=. */
interface SignatureTags {
  /** The tags before h= (v, a, c, d), then after it (q, s, t): RFC 6376's usual order. */
  before: [string, string][];
  after: [string, string][];
  /** h=: the signed fields' names. */
  names: string[];
  bh: string;
}

/**
 * The DKIM-Signature field (without its CRLF), folded within LINE characters at the spaces
 * between tags, between the names of h= and inside b= (places where the grammar allows folding
 * whitespace). `b` is the signature, or '' for the form that gets signed: relaxed
 * canonicalisation unfolds it, so both forms agree up to b=.
 */
export function signatureField(tags: SignatureTags, b: string): string {
  const pieces: { text: string; space: boolean }[] = tags.before.map(([k, v]) => ({ text: `${k}=${v};`, space: true }));
  tags.names.forEach((n, i) => {
    pieces.push({ text: `${i ? '' : 'h='}${n}${i < tags.names.length - 1 ? ':' : ';'}`, space: i === 0 });
  });
  for (const [k, v] of tags.after) pieces.push({ text: `${k}=${v};`, space: true });
  pieces.push({ text: `bh=${tags.bh};`, space: true });
  pieces.push({ text: `b=${b.slice(0, 60)}`, space: true });
  for (let i = 60; i < b.length; i += 72) pieces.push({ text: b.slice(i, i + 72), space: false });
  let out = 'DKIM-Signature:';
  let line = out.length;
  for (const p of pieces) {
    const width = (p.space ? 1 : 0) + p.text.length;
    if (line + width > LINE) {
      out += `${CRLF} ${p.text}`;
      line = 1 + p.text.length;
    } else {
      out += (p.space ? ' ' : '') + p.text;
      line += width;
    }
  }
  return out;
}

export class DkimSigner {
  private fields: SignedField[] = [];
  private keys: Promise<SigningKey[]> | null = null;
  /** The lookup found no key: the rest of the body need not be hashed. */
  private keyless = false;
  private signedWith: SigningKey[] = [];
  private readonly hasher = new RelaxedBodyHash('sha256');
  /** The From domain (null: no From, or not yet seen). */
  domain: string | null = null;
  private readonly opts: DkimSignerOptions;

  constructor(opts: DkimSignerOptions) {
    this.opts = opts;
  }

  /** The header block as it will be stored; starts the key lookup for its From domain. */
  header(block: Buffer): void {
    const { fields, from } = signingFields(block);
    this.fields = fields;
    this.domain = from === null ? null : fromDomain(from);
    if (!this.domain) return;
    this.keys = this.opts.keysFor(this.domain);
    this.keys.then(
      (keys) => (this.keyless = !keys.length),
      () => undefined, // reported by signatures(); not an unhandled rejection meanwhile
    );
  }

  /** A body chunk, in order (CRLF lines: intake's line-ending guard runs first). */
  body(chunk: Buffer): void {
    if (this.domain && !this.keyless) this.hasher.update(chunk);
  }

  /** The DKIM-Signature fields (each ending with CRLF), or '' when unsigned. Call after the end. */
  async signatures(): Promise<string> {
    const keys = this.keys ? await this.keys : [];
    if (!keys.length) return '';
    this.signedWith = keys;
    const bh = this.hasher.digest('base64');
    const names = this.fields.map((f) => f.name);
    names.push('From'); // over-signed: one more than present
    const headers = this.fields.map((f) => f.canonical + CRLF).join('');
    const t = String(Math.floor(this.opts.now() / 1000));
    const out = await Promise.all(
      keys.map(async (k) => {
        const tags: SignatureTags = {
          before: [
            ['v', '1'],
            ['a', k.algorithm],
            ['c', 'relaxed/relaxed'],
            ['d', domainToASCII(k.domain) || k.domain],
          ],
          after: [
            ['q', 'dns/txt'],
            ['s', k.selector],
            ['t', t],
          ],
          names,
          bh,
        };
        const data = Buffer.from(headers + relaxedHeaderField(signatureField(tags, '')), 'latin1');
        const b = (
          k.algorithm === 'rsa-sha256'
            ? await signAsync('rsa-sha256', data, k.privateKey)
            : sign(null, createHash('sha256').update(data).digest(), k.privateKey)
        ).toString('base64');
        return signatureField(tags, b) + CRLF;
      }),
    );
    return out.join('');
  }

  /** Selectors that signed (after signatures()). */
  selectors(): string[] {
    return this.signedWith.map((k) => `${k.domain}/${k.selector}`);
  }
}
