/**
 * `npm run bench -- --scan [URL]`: what content scanning costs. Starts a real rspamd on loopback
 * (test/helpers/rspamd.ts; or uses the one at URL), then two Posterns, one scanning and one
 * not, measured in turns with the same submission cell: accepted msg/s, p99 of the final "."
 * to 250, and the cost per message. Loopback only; nothing is delivered.
 */
import { measureInTurns, turnsTable } from './lib/turns.ts';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};

const at = process.argv.indexOf('--scan');
const given = at !== -1 && process.argv[at + 1]?.startsWith('http') ? process.argv[at + 1]! : null;
let stop = async (): Promise<void> => {};
let url = given;
if (!url) {
  const { startRspamd } = await import('../test/helpers/rspamd.ts');
  const r = await startRspamd();
  url = r.url;
  stop = () => r.stop();
  log(`rspamd started at ${url}`);
}
try {
  for (const conns of [1, 8]) {
    const o = { conns, rounds: arg('--rounds', 3), messages: arg('--messages', 1000), size: arg('--size', 2048), log };
    const r = await measureInTurns({ label: 'off', spawn: { scanUrl: null } }, { label: 'rspamd', spawn: { scanUrl: url } }, o);
    console.log(`\n${turnsTable('scanning', r, o)}`);
  }
} finally {
  await stop();
}
