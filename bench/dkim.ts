/**
 * `npm run bench -- --dkim`: what DKIM signing costs. Part 1 signs messages in this process
 * (intake's header rewriter with the signer riding along, over 64 KiB chunks as intake feeds it)
 * and reports µs per message for 2 KiB and 100 KiB, RSA-2048 and Ed25519, beside the same stage
 * without the signer, and the private-key operation alone. Part 2
 * starts two Posterns, one signing (RSA) and one not, and runs the same submission cell against
 * them in turns (off, on, off, on, ...) so that both see the same machine; it reports accepted
 * msg/s of each and the ratio on/off. Loopback only; nothing is delivered.
 */
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DkimSigner, generateDkimKey, type DkimAlgorithm, type SigningKey } from '../src/dkim/index.ts';
import { HeaderRewriter } from '../src/intake/headers.ts';
import { createMessageFactory } from './lib/message.ts';
import { measureInTurns, turnsTable } from './lib/turns.ts';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const list = (name: string, dflt: number[]) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : process.argv[i + 1]!.split(/[ ,]+/).map(Number);
};

async function signOnce(message: Buffer, keys: SigningKey[] | null): Promise<void> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < message.length; i += 65536) chunks.push(message.subarray(i, i + 65536));
  const sink = new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });
  const signer = keys ? new DkimSigner({ keysFor: async () => keys, now: Date.now }) : null;
  const now = new Date();
  const rewriter = new HeaderRewriter({ received: 'from bench by bench; now', hostname: 'bench.test', queueId: 'q', now }, signer);
  await pipeline(Readable.from(chunks), rewriter, sink);
  if (signer && !(await signer.signatures())) throw new Error('not signed');
}

/** CPU µs of the private-key operation alone, as the signer makes it (over ~600 bytes). */
function keyOperation(k: SigningKey): number {
  const data = Buffer.alloc(600, 'h');
  const once = () =>
    k.algorithm === 'rsa-sha256'
      ? sign('rsa-sha256', data, k.privateKey)
      : sign(null, createHash('sha256').update(data).digest(), k.privateKey);
  for (let i = 0; i < 50; i++) once();
  const n = k.algorithm === 'rsa-sha256' ? 500 : 3000;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) once();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

async function micro(): Promise<void> {
  const key = (a: DkimAlgorithm): SigningKey => ({
    domain: 'example.test',
    selector: 's',
    algorithm: a,
    privateKey: createPrivateKey(generateDkimKey(a).privateKeyPem),
  });
  const rows: string[] = [
    '| size | header stage alone | with RSA-2048 signing | with Ed25519 | with RSA + Ed25519 |',
    '| ---: | ---: | ---: | ---: | ---: |',
  ];
  const rsa = key('rsa-sha256');
  const ed = key('ed25519-sha256');
  const ops = { rsa: Math.min(keyOperation(rsa), keyOperation(rsa)), ed: Math.min(keyOperation(ed), keyOperation(ed)) };
  for (const size of [2048, 102400]) {
    const message = createMessageFactory({ size, from: 'a@example.test', to: ['b@remote.test'] }).make(1);
    const n = size > 10_000 ? 300 : 1000;
    /** CPU µs per message (this process, thread pool included). */
    const time = async (keys: SigningKey[] | null) => {
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await signOnce(message, keys);
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / n;
    };
    const variants = [null, [rsa], [ed], [rsa, ed]];
    for (const keys of variants) for (let i = 0; i < 300; i++) await signOnce(message, keys); // warm up every path first
    // three rounds in turns, the best of each: the machine is shared
    const cells = variants.map(() => Infinity);
    for (let round = 0; round < 3; round++) for (const [i, keys] of variants.entries()) cells[i] = Math.min(cells[i]!, await time(keys));
    const plain = cells[0]!;
    const op = [0, ops.rsa, ops.ed, ops.rsa + ops.ed];
    rows.push(
      `| ${size} | ${plain.toFixed(0)} | ${cells
        .slice(1)
        .map(
          (c, i) =>
            `${c.toFixed(0)} (+${(c - plain).toFixed(0)}: key ${op[i + 1]!.toFixed(0)}, rest ${(c - plain - op[i + 1]!).toFixed(0)})`,
        )
        .join(' | ')} |`,
    );
  }
  console.log(
    'Signing cost in one process, CPU µs per message (the header stage over 64 KiB chunks, stream included; CPU includes the thread pool that signs). ' +
      '+N: what signing adds; key: the private-key operation alone; rest: everything else signing costs (canonicalisation, body hash, formatting, the hand-off to the pool):\n',
  );
  console.log(rows.join('\n'));
}

async function throughput(conns: number): Promise<void> {
  const o = { conns, rounds: arg('--rounds', 3), messages: arg('--messages', 1500), size: arg('--size', 2048), log };
  const r = await measureInTurns({ label: 'off', spawn: { dkim: 'off' } }, { label: 'RSA-2048', spawn: { dkim: 'rsa' } }, o);
  console.log(`\n${turnsTable('signing', r, o)} (the target: a ratio of at least 0.80)`);
}

await micro();
if (!process.argv.includes('--micro-only')) for (const c of list('--conns', [1, 8])) await throughput(c);
