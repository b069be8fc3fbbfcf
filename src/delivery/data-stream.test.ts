import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteTransform, lineTransform } from './data-stream.ts';

/** Runs one transform over chunks the way a Transform stream would, returning its output. */
function run(fn: typeof lineTransform, chunks: Buffer[]): { out: Buffer; inBytes: number; outBytes: number } {
  const pushed: Buffer[] = [];
  const state = {
    inByteCount: 0,
    outByteCount: 0,
    lastByte: false as number | false,
    push: (b: Buffer) => pushed.push(Buffer.from(b)) > 0,
  };
  for (const c of chunks) fn.call(state, c, 'binary', () => undefined);
  return { out: Buffer.concat(pushed), inBytes: state.inByteCount, outBytes: state.outByteCount };
}

/** A small deterministic generator (no flaky seeds). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
}

test("the line transform gives nodemailer's output for every random body and chunking", () => {
  const alphabet = Buffer.from('a.\r\n');
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed);
    const len = Math.floor(r() * 64);
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = alphabet[Math.floor(r() * alphabet.length)]!;
    const chunks: Buffer[] = [];
    for (let i = 0; i < len; ) {
      const n = 1 + Math.floor(r() * 8);
      chunks.push(body.subarray(i, i + n));
      i += n;
    }
    assert.deepEqual(run(lineTransform, chunks), run(byteTransform, chunks), `seed ${seed}: ${JSON.stringify(body.toString())}`);
  }
});

test('the same for bodies made of CRLF lines (the fast path) with the odd dot or bare line end', () => {
  const tokens = ['abc', 'x.y', '\r\n', '\r\n', '\r\n.', '\r\n..', '\n', '\r'];
  for (let seed = 1; seed <= 2000; seed++) {
    const r = rng(seed * 7919);
    const clean = r() < 0.5; // half of them only CRLF lines, no dot at a line start
    const pick = () => tokens[Math.floor(r() * (clean ? 4 : tokens.length))]!;
    const body = Buffer.from(Array.from({ length: Math.floor(r() * 40) }, pick).join(''));
    const size = 1 + Math.floor(r() * 32);
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
    assert.deepEqual(run(lineTransform, chunks), run(byteTransform, chunks), `seed ${seed}: ${JSON.stringify(body.toString())}`);
  }
});

test('a normal CRLF body is passed through as the same buffer, dots at line starts doubled', () => {
  const body = Buffer.from('Subject: x\r\n\r\nline\r\n.dot\r\n..two\r\nend.\r\n');
  const { out } = run(lineTransform, [body]);
  assert.equal(out.toString(), 'Subject: x\r\n\r\nline\r\n..dot\r\n...two\r\nend.\r\n');
  const plain = Buffer.from('a\r\nb\r\n');
  assert.equal(run(lineTransform, [plain]).out.toString(), 'a\r\nb\r\n');
});

test('a dot at the very start, bare LF and bare CR are handled as nodemailer does', () => {
  for (const s of ['.start\r\n', 'a\nb', 'a\rb', 'a\r.b', '\n.x', 'x\r', '\r\n.\r\n']) {
    assert.deepEqual(run(lineTransform, [Buffer.from(s)]), run(byteTransform, [Buffer.from(s)]), JSON.stringify(s));
  }
});
