/**
 * Connection slots under attack (loopback only, bounded): a spawned Postern with the default
 * listener settings on three ports (submission as 587, submissions as 465, submission as 2525,
 * on free ports), 2,000 idle connections from 40 addresses (50 each, spread over the ports,
 * reconnecting whenever closed) and 20 slowloris clients per port (one byte a second,
 * reconnecting), while a real client submits one message on each port every `--every` seconds.
 * Reports, per port, how many submissions completed within 2 s, and their latencies.
 *
 *   node bin/run-ts.js bench/slots.ts [--seconds 60] [--every 2] [--idle-per-address 50]
 *     [--addresses 40] [--slowloris 20] [--json]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { freeLoopbackPort, generatedPassword, spawnPostern } from './lib/postern-child.ts';
import { SmtpClient } from './lib/smtp-client.ts';
import { createMessageFactory } from './lib/message.ts';
import { percentile } from './lib/report.ts';

const { values: a } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    every: { type: 'string', default: '2' },
    'idle-per-address': { type: 'string', default: '50' },
    addresses: { type: 'string', default: '40' },
    slowloris: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const SECONDS = Math.min(600, Number(a.seconds));
const EVERY = Math.max(0.5, Number(a.every));
const PER_ADDRESS = Math.min(200, Number(a['idle-per-address']));
const ADDRESSES = Math.min(250, Number(a.addresses));
const SLOWLORIS = Math.min(250, Number(a.slowloris));
const LIMIT_MS = 2000;
const log = (s: string) => process.stderr.write(`${s}\n`);

const ports = { '587': await freeLoopbackPort(), '465': await freeLoopbackPort(), '2525': await freeLoopbackPort() };
const user = 'real@bench.example';
const pass = generatedPassword();
const postern = await spawnPostern({
  user,
  pass,
  tls: 'starttls',
  maxConns: 0,
  tlsCert: null,
  tlsKey: null,
  cpuProf: null,
  workers: null,
  delivery: null,
  log,
  // the listener defaults are what is measured; only the ports and the bind address are set
  listeners: [
    { role: 'submission', port: ports['587'], host: '127.0.0.1' },
    { role: 'submissions', port: ports['465'], host: '127.0.0.1' },
    { role: 'submission', port: ports['2525'], host: '127.0.0.1' },
  ],
  // loopback stands for the Internet here: not trusted
  auth: { trustedNetworks: [] },
});
process.on('exit', () => postern.kill());

let stopping = false;
const open = new Set<net.Socket>();
const counts = { idleConnects: 0, slowConnects: 0, closedByServer: 0 };

/** One attacker connection that reconnects (after 100 ms) whenever the server closes it. */
function attacker(port: number, from: string, slow: boolean): void {
  if (stopping) return;
  const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
  open.add(s);
  if (slow) counts.slowConnects++;
  else counts.idleConnects++;
  let timer: NodeJS.Timeout | null = null;
  s.once('data', () => {
    if (slow) timer = setInterval(() => s.write('E'), 1000); // a command line, one byte a second
  });
  s.on('error', () => undefined);
  s.on('close', () => {
    open.delete(s);
    if (timer) clearInterval(timer);
    if (stopping) return;
    counts.closedByServer++;
    setTimeout(() => attacker(port, from, slow), 100).unref();
  });
}

const portList = Object.values(ports);
log(`attack: ${ADDRESSES * PER_ADDRESS} idle connections from ${ADDRESSES} addresses, ${SLOWLORIS} slowloris per port`);
for (let i = 0; i < ADDRESSES; i++) {
  for (let j = 0; j < PER_ADDRESS; j++) attacker(portList[j % portList.length]!, `127.1.${i}.1`, false);
  await new Promise((r) => setTimeout(r, 20)); // the flood starts within a second, not in one burst
}
for (const [k, port] of portList.entries()) for (let i = 0; i < SLOWLORIS; i++) attacker(port, `127.2.${k}.${i + 1}`, true);
await new Promise((r) => setTimeout(r, 3000)); // let it settle: every slot the attack can take is taken

let sent = 0;
const message = createMessageFactory({ size: 2048, from: user, to: ['rcpt@remote.example'] });
const results: Record<string, { ms: number[]; ok: number; slow: number; failed: string[] }> = {};
for (const k of Object.keys(ports)) results[k] = { ms: [], ok: 0, slow: 0, failed: [] };

async function submit(name: keyof typeof ports): Promise<void> {
  const t0 = performance.now();
  let c: SmtpClient | null = null;
  try {
    c = await SmtpClient.open({
      host: '127.0.0.1',
      port: ports[name],
      tls: name === '465' ? 'implicit' : 'starttls',
      ehlo: 'client.bench.example',
      timeoutMs: 10_000,
    });
    await c.auth(user, pass);
    await c.send(user, ['rcpt@remote.example'], message.make(++sent));
    await c.quit();
    const ms = performance.now() - t0;
    results[name]!.ms.push(ms);
    if (ms <= LIMIT_MS) results[name]!.ok++;
    else results[name]!.slow++;
  } catch (err) {
    results[name]!.failed.push((err as Error).message);
  } finally {
    c?.destroy();
  }
}

const end = Date.now() + SECONDS * 1000;
while (Date.now() < end && postern.alive()) {
  const round = Date.now();
  for (const name of Object.keys(ports) as (keyof typeof ports)[]) await submit(name);
  await new Promise((r) => setTimeout(r, Math.max(0, EVERY * 1000 - (Date.now() - round))));
}
const attackOpen = open.size;
stopping = true;
for (const s of open) s.destroy();
await postern.stop();

const rows = Object.entries(results).map(([port, r]) => ({
  port,
  attempts: r.ms.length + r.failed.length,
  within2s: r.ok,
  over2s: r.slow,
  failed: r.failed.length,
  p50: Math.round(percentile(r.ms, 50) ?? NaN),
  p99: Math.round(percentile(r.ms, 99) ?? NaN),
  max: Math.round(Math.max(...r.ms)),
  errors: [...new Set(r.failed)].slice(0, 3),
}));
const summary = {
  seconds: SECONDS,
  attack: { idle: ADDRESSES * PER_ADDRESS, addresses: ADDRESSES, slowlorisPerPort: SLOWLORIS, openAtEnd: attackOpen, ...counts },
  rows,
};
if (a.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
log('| port | submissions | within 2 s | over 2 s | failed | p50 ms | p99 ms | max ms |');
log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) log(`| ${r.port} | ${r.attempts} | ${r.within2s} | ${r.over2s} | ${r.failed} | ${r.p50} | ${r.p99} | ${r.max} |`);
log(
  `attack connections open at the end: ${attackOpen}; made: ${counts.idleConnects} idle, ${counts.slowConnects} slowloris; closed by the server: ${counts.closedByServer}`,
);
for (const r of rows) if (r.errors.length) log(`${r.port} errors: ${r.errors.join('; ')}`);
process.exit(rows.every((r) => r.failed === 0 && r.over2s === 0) ? 0 : 1);
