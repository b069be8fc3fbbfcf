/**
 * The crypt(3) hashes hosting servers keep in their Dovecot passwd-files and shadow files,
 * computed natively (no shelling out): MD5-crypt ($1$, Poul-Henning Kamp's algorithm) and
 * SHA-crypt ($5$ SHA-256, $6$ SHA-512, Ulrich Drepper's specification), each rebuilt from the
 * stored salt and rounds and compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** crypt's base-64: 24 bits at a time, least significant six bits first. */
function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += B64[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/** The byte order in which SHA-crypt spreads the digest over the encoding, as triples. */
const SHA256_ORDER: [number, number, number][] = [
  [0, 10, 20],
  [21, 1, 11],
  [12, 22, 2],
  [3, 13, 23],
  [24, 4, 14],
  [15, 25, 5],
  [6, 16, 26],
  [27, 7, 17],
  [18, 28, 8],
  [9, 19, 29],
];
const SHA512_ORDER: [number, number, number][] = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
];

function repeatTo(src: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += src.length) src.copy(out, i, 0, Math.min(src.length, len - i));
  return out;
}

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;

/** SHA-crypt of a password with a salt string ("rounds=N$" may lead it); returns the full "$5$..." / "$6$..." string. */
export function shaCrypt(kind: 5 | 6, password: string, saltSpec: string): string {
  const algo = kind === 5 ? 'sha256' : 'sha512';
  const size = kind === 5 ? 32 : 64;
  const H = () => createHash(algo);
  let rounds = ROUNDS_DEFAULT;
  let custom = false;
  let rest = saltSpec;
  const m = /^rounds=(\d+)\$/.exec(rest);
  if (m) {
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[1])));
    custom = true;
    rest = rest.slice(m[0].length);
  }
  const saltText = rest.split('$')[0]!.slice(0, 16);
  const salt = Buffer.from(saltText, 'utf8');
  const pw = Buffer.from(password, 'utf8');

  const b = H().update(pw).update(salt).update(pw).digest();
  const a = H().update(pw).update(salt);
  let i: number;
  for (i = pw.length; i > size; i -= size) a.update(b);
  a.update(b.subarray(0, i));
  for (i = pw.length; i > 0; i >>= 1) a.update(i & 1 ? b : pw);
  let c = a.digest();

  const dp = H();
  for (i = 0; i < pw.length; i++) dp.update(pw);
  const p = repeatTo(dp.digest(), pw.length);
  const ds = H();
  for (i = 0; i < 16 + c[0]!; i++) ds.update(salt);
  const s = repeatTo(ds.digest(), salt.length);

  for (let r = 0; r < rounds; r++) {
    const h = H();
    h.update(r & 1 ? p : c);
    if (r % 3) h.update(s);
    if (r % 7) h.update(p);
    h.update(r & 1 ? c : p);
    c = h.digest();
  }

  let enc = '';
  for (const [x, y, z] of kind === 5 ? SHA256_ORDER : SHA512_ORDER) enc += b64From24(c[x]!, c[y]!, c[z]!, 4);
  enc += kind === 5 ? b64From24(0, c[31]!, c[30]!, 3) : b64From24(0, 0, c[63]!, 2);
  return `$${kind}$${custom ? `rounds=${rounds}$` : ''}${saltText}$${enc}`;
}

/** MD5-crypt ("$1$salt$hash", salt of at most 8 characters). */
export function md5Crypt(password: string, saltSpec: string): string {
  const saltText = saltSpec.split('$')[0]!.slice(0, 8);
  const salt = Buffer.from(saltText, 'utf8');
  const pw = Buffer.from(password, 'utf8');
  const magic = Buffer.from('$1$');
  const alt = createHash('md5').update(pw).update(salt).update(pw).digest();
  const ctx = createHash('md5').update(pw).update(magic).update(salt);
  for (let left = pw.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  const zero = Buffer.alloc(1);
  const first = pw.subarray(0, 1).length ? pw.subarray(0, 1) : zero;
  for (let i = pw.length; i; i >>= 1) ctx.update(i & 1 ? zero : first);
  let f = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const h = createHash('md5');
    h.update(i & 1 ? pw : f);
    if (i % 3) h.update(salt);
    if (i % 7) h.update(pw);
    h.update(i & 1 ? f : pw);
    f = h.digest();
  }
  const enc =
    b64From24(f[0]!, f[6]!, f[12]!, 4) +
    b64From24(f[1]!, f[7]!, f[13]!, 4) +
    b64From24(f[2]!, f[8]!, f[14]!, 4) +
    b64From24(f[3]!, f[9]!, f[15]!, 4) +
    b64From24(f[4]!, f[10]!, f[5]!, 4) +
    b64From24(0, 0, f[11]!, 2);
  return `$1$${saltText}$${enc}`;
}

/** True when `stored` ("$1$...", "$5$...", "$6$...") is the hash of `password`. */
export function verifyCrypt(stored: string, password: string): boolean {
  const m = /^\$([156])\$(.+)$/.exec(stored);
  if (!m) return false;
  const kind = m[1]!;
  const computed = kind === '1' ? md5Crypt(password, m[2]!) : shaCrypt(Number(kind) as 5 | 6, password, m[2]!);
  return sameText(computed, stored);
}

export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
