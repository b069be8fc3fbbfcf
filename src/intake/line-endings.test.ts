import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineEndingGuard, type LineEndingOptions } from './line-endings.ts';
import { SmtpError } from '../core/index.ts';

const NORMALIZE: LineEndingOptions = { mode: 'normalize', maxLineLength: 1000 };
const REJECT: LineEndingOptions = { mode: 'reject', maxLineLength: 1000 };

/** Feeds the chunks one by one and collects what comes out (latin1 keeps bytes 1:1). */
function run(chunks: (string | Buffer)[], opts: LineEndingOptions): Promise<{ out: string; normalized: number }> {
  return new Promise((resolve, reject) => {
    const g = new LineEndingGuard(opts);
    const out: Buffer[] = [];
    g.on('data', (c: Buffer) => out.push(c));
    g.on('error', reject);
    g.on('end', () => resolve({ out: Buffer.concat(out).toString('latin1'), normalized: g.normalized }));
    for (const c of chunks) g.write(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    g.end();
  });
}

/** The obvious whole-string reference: every CRLF, lone CR and lone LF becomes one CRLF. */
const reference = (s: string) => s.replace(/\r\n|\r|\n/g, '\r\n');
const bareCount = (s: string) => (s.match(/\r(?!\n)|(?<!\r)\n/g) ?? []).length;

const show = (s: string) => JSON.stringify(s);

function isSmtp550(err: unknown): boolean {
  assert.ok(err instanceof SmtpError, `expected an SmtpError, got ${String(err)}`);
  assert.equal(err.responseCode, 550);
  assert.equal(err.reply.enhanced, '5.5.2');
  assert.match(err.message, /^5\.5\.2 /);
  return true;
}

const SAMPLES = [
  'Subject: a\r\nTo: b\nX: c\rd\r\r\n\n\re\r',
  'line1\r\nline2\r\n',
  '\n\r',
  '\r',
  '\n',
  '\r\n',
  'x\r\r\r\n\n\n\r\r',
  'no line ends at all',
  'a\r\nb\r\nc\r',
  '\r\n\r\n.\r\n',
];

test('normalize: bare LF and bare CR become CRLF, CRLF stays CRLF (single chunk)', async () => {
  assert.equal((await run(['a\nb'], NORMALIZE)).out, 'a\r\nb');
  assert.equal((await run(['a\rb'], NORMALIZE)).out, 'a\r\nb');
  assert.equal((await run(['a\r\nb'], NORMALIZE)).out, 'a\r\nb');
  assert.equal((await run(['a\r\r\nb'], NORMALIZE)).out, 'a\r\n\r\nb');
  assert.equal((await run(['a\n\rb'], NORMALIZE)).out, 'a\r\n\r\nb');
  const r = await run(['one\ntwo\rthree\r\n'], NORMALIZE);
  assert.equal(r.out, 'one\r\ntwo\r\nthree\r\n');
  assert.equal(r.normalized, 2);
});

test('normalize: CRLF split across two chunks stays one CRLF', async () => {
  const r = await run(['abc\r', '\ndef\r\n'], NORMALIZE);
  assert.equal(r.out, 'abc\r\ndef\r\n');
  assert.equal(r.normalized, 0);
  // the same with a dirty chunk on either side (slow path)
  assert.equal((await run(['a\nb\r', '\nc'], NORMALIZE)).out, 'a\r\nb\r\nc');
  assert.equal((await run(['ab\r', '\nc\nd'], NORMALIZE)).out, 'ab\r\nc\r\nd');
  // CR at the end of a chunk, then one chunk holding only LF
  assert.equal((await run(['ab\r', '\n', 'c'], NORMALIZE)).out, 'ab\r\nc');
});

test('normalize: CR at the end of one chunk followed by something else is a bare CR', async () => {
  const r = await run(['abc\r', 'def'], NORMALIZE);
  assert.equal(r.out, 'abc\r\ndef');
  assert.equal(r.normalized, 1);
  assert.equal((await run(['abc\r', '\rdef'], NORMALIZE)).out, 'abc\r\n\r\ndef');
  assert.equal((await run(['abc\r', '\r', '\n'], NORMALIZE)).out, 'abc\r\n\r\n');
});

test('normalize: CR as the very last byte of the stream becomes CRLF', async () => {
  const r = await run(['abc\r'], NORMALIZE);
  assert.equal(r.out, 'abc\r\n');
  assert.equal(r.normalized, 1);
  assert.equal((await run(['abc', '\r'], NORMALIZE)).out, 'abc\r\n');
  assert.equal((await run(['a\nb\r'], NORMALIZE)).out, 'a\r\nb\r\n');
});

test('normalize: every split into two and three chunks equals the reference', async () => {
  for (const s of SAMPLES) {
    const want = reference(s);
    for (let i = 1; i < s.length; i++) {
      const two = [s.slice(0, i), s.slice(i)];
      const r = await run(two, NORMALIZE);
      assert.equal(r.out, want, `split ${show(two[0])} | ${show(two[1])}`);
      assert.equal(r.normalized, bareCount(s), `normalized count for ${show(s)} split at ${i}`);
      for (let j = i + 1; j < s.length; j++) {
        const three = [s.slice(0, i), s.slice(i, j), s.slice(j)];
        assert.equal((await run(three, NORMALIZE)).out, want, `split ${three.map(show).join(' | ')}`);
      }
    }
    // one byte per chunk
    assert.equal((await run([...s], NORMALIZE)).out, want, `byte by byte ${show(s)}`);
  }
});

test('normalize: random strings over {a, CR, LF} with random chunking equal the reference', async () => {
  let seed = 0x2545f491;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5; // xorshift32
    return (seed >>> 0) % n;
  };
  const alphabet = ['a', '\r', '\n', '.'];
  for (let round = 0; round < 500; round++) {
    const len = 1 + rnd(24);
    let s = '';
    for (let k = 0; k < len; k++) s += alphabet[rnd(alphabet.length)];
    const chunks: string[] = [];
    for (let pos = 0; pos < s.length; ) {
      const n = 1 + rnd(4);
      chunks.push(s.slice(pos, pos + n));
      pos += n;
    }
    const r = await run(chunks, NORMALIZE);
    assert.equal(r.out, reference(s), `chunks ${chunks.map(show).join(' | ')}`);
    assert.equal(r.normalized, bareCount(s), `count for ${chunks.map(show).join(' | ')}`);
  }
});

test('normalize: an empty chunk between a trailing CR and the next byte does not let a bare CR through', async () => {
  // A Transform receives zero-length writes like any other; a pending CR must survive them.
  assert.equal((await run(['a\r', Buffer.alloc(0), 'b'], NORMALIZE)).out, 'a\r\nb');
  assert.equal((await run(['a\r', Buffer.alloc(0), '\nb'], NORMALIZE)).out, 'a\r\nb');
  assert.equal((await run(['a\r', Buffer.alloc(0)], NORMALIZE)).out, 'a\r\n');
});

test('reject: an empty chunk between a trailing CR and the next byte does not let a bare CR through', async () => {
  await assert.rejects(run(['a\r', Buffer.alloc(0), 'b'], REJECT), isSmtp550);
});

test('reject: clean CRLF input passes unchanged, also with CRLF split across chunks', async () => {
  const s = 'Subject: x\r\n\r\nbody\r\n.dot\r\n';
  for (let i = 1; i < s.length; i++) {
    const r = await run([s.slice(0, i), s.slice(i)], REJECT);
    assert.equal(r.out, s, `split at ${i}`);
    assert.equal(r.normalized, 0);
  }
});

test('reject: a bare LF or bare CR anywhere fails with 550 5.5.2', async () => {
  for (const s of ['a\nb', 'a\rb', 'a\r\nb\n', '\nx', 'a\r\r\nb', 'ok\r\nthen\rbad\r\n']) {
    for (let i = 1; i < s.length; i++) {
      await assert.rejects(run([s.slice(0, i), s.slice(i)], REJECT), isSmtp550, `${show(s)} split at ${i}`);
    }
    await assert.rejects(run([s], REJECT), isSmtp550, show(s));
  }
});

test('reject: CR at the end of a chunk followed by a non-LF, and CR at the end of the stream, fail', async () => {
  await assert.rejects(run(['abc\r', 'def'], REJECT), isSmtp550);
  await assert.rejects(run(['abc\r'], REJECT), isSmtp550);
  await assert.rejects(run(['abc\r\n', 'x\r'], REJECT), isSmtp550);
});

test('max line length: exactly the limit passes, one byte more fails with 550 5.5.2', async () => {
  const opts = { mode: 'normalize', maxLineLength: 10 } as const;
  const ok = `${'a'.repeat(10)}\r\n${'b'.repeat(10)}\r\n`;
  assert.equal((await run([ok], opts)).out, ok);
  assert.equal((await run([ok.slice(0, 5), ok.slice(5, 11), ok.slice(11)], opts)).out, ok);
  assert.equal((await run([`${'a'.repeat(10)}\n`], opts)).out, `${'a'.repeat(10)}\r\n`);

  await assert.rejects(run([`${'a'.repeat(11)}\r\n`], opts), isSmtp550);
  await assert.rejects(run(['short\r\n', `${'a'.repeat(11)}\r\n`], opts), isSmtp550);
  // the long line is spread over many chunks
  await assert.rejects(run(['aaaa', 'aaaa', 'aaaa', '\r\n'], opts), isSmtp550);
  // a long line in the middle of a chunk after a short one
  await assert.rejects(run([`ab\r\n${'c'.repeat(30)}\r\nd\r\n`], opts), isSmtp550);
  // no line end at all
  await assert.rejects(run(['x'.repeat(50)], opts), isSmtp550);
  // the same holds in reject mode
  await assert.rejects(run([`${'a'.repeat(11)}\r\n`], { mode: 'reject', maxLineLength: 10 }), isSmtp550);
  await assert.rejects(run(['aaaaaa', 'aaaaaa\r\n'], { mode: 'reject', maxLineLength: 10 }), isSmtp550);
});

test('max line length: a bare CR splits a line in normalize mode', async () => {
  const opts = { mode: 'normalize', maxLineLength: 10 } as const;
  const s = `${'a'.repeat(8)}\r${'b'.repeat(8)}\n`;
  assert.equal((await run([s], opts)).out, `${'a'.repeat(8)}\r\n${'b'.repeat(8)}\r\n`);
});
