import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { feedData, type DataParser } from './smtp-server-patch.ts';

// this file never applies the patch: the prototype still has smtp-server's own scanner
const original = (SMTPStream.prototype as unknown as DataParser)._feedDataStream;

/** Runs DATA input through a parser with the given scanner: the data it emits, where the data
 *  ended, and the commands that followed. */
async function run(
  scanner: DataParser['_feedDataStream'],
  chunks: Buffer[],
): Promise<{ data: string; ended: boolean; commands: string[] }> {
  const parser = new SMTPStream() as unknown as DataParser & SMTPStream & { startDataMode(): NodeJS.ReadableStream; continue(): void };
  parser._feedDataStream = scanner;
  const commands: string[] = [];
  (parser as unknown as { oncommand: (c: Buffer, cb: () => void) => void }).oncommand = (c, cb) => {
    commands.push(c.toString('latin1'));
    cb();
  };
  const data: Buffer[] = [];
  let ended = false;
  const stream = parser.startDataMode();
  stream.on('data', (c: Buffer) => data.push(c));
  stream.on('end', () => {
    ended = true;
    parser.continue();
  });
  for (const c of chunks) await new Promise<void>((resolve, reject) => parser.write(c, (err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve) => parser.end(resolve));
  await new Promise((r) => setImmediate(r));
  return { data: Buffer.concat(data).toString('latin1'), ended, commands };
}

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
}

const LINES = ['', '.', '..', '...', '.x', '..x', 'text', ' .', 'a.b', '.\r', '\n.', '\n..', 'x\n.\r', '.\r\n.'];

test('the indexOf DATA scanner emits what smtp-server’s own does, ends where it ends, over random input in random chunks', async () => {
  const r = rng(11);
  for (let i = 0; i < 600; i++) {
    const lines = Array.from({ length: Math.floor(r() * 12) }, () => LINES[Math.floor(r() * LINES.length)]!);
    const ending = r() < 0.85 ? '\r\n.\r\nNOOP\r\nQUIT\r\n' : '\r\n'; // sometimes no end at all
    const input = Buffer.from(lines.join('\r\n') + ending, 'latin1');
    const cuts = new Set<number>();
    const pieces = r() < 0.3 ? input.length : Math.floor(r() * 6);
    for (let k = 0; k < pieces; k++) cuts.add(1 + Math.floor(r() * Math.max(1, input.length - 1)));
    const at = [0, ...[...cuts].sort((a, b) => a - b), input.length];
    const chunks = at
      .slice(1)
      .map((end, k) => input.subarray(at[k], end))
      .filter((c) => c.length);
    const theirs = await run(original, chunks);
    const ours = await run(feedData, chunks);
    assert.deepEqual(ours, theirs, JSON.stringify({ input: input.toString('latin1'), at }));
  }
});

test('a large message in 16 KiB chunks: unstuffed, ended, the next command read', async () => {
  const body = Array.from({ length: 4000 }, (_, i) => (i % 97 === 0 ? '..stuffed' : `line ${i} of a long message`)).join('\r\n');
  const input = Buffer.from(`${body}\r\n.\r\nQUIT\r\n`);
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += 16384) chunks.push(input.subarray(i, i + 16384));
  const ours = await run(feedData, chunks);
  assert.equal(ours.data, `${body.replaceAll('\r\n..stuffed', '\r\n.stuffed').replace(/^\.\./, '.')}\r\n`);
  assert.equal(ours.ended, true);
  assert.deepEqual(ours.commands, ['QUIT']);
  assert.deepEqual(ours, await run(original, chunks));
});
