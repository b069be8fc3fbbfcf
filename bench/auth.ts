/**
 * AUTH per second through Dovecot: Postfix (smtpd_sasl_type = dovecot) and Postern
 * (auth.dovecot) asking the SAME Dovecot, in the same run, one after the other. Each login is
 * what a mail program does: connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT; `--conns` clients
 * do that in a loop until `--logins` succeeded (bounded by `--max-seconds`). Postern is measured
 * twice: its cache of Dovecot's answers off (every AUTH goes to Dovecot) and on
 * (auth.dovecot.cacheSeconds). Loopback only.
 *
 *   node bin/run-ts.js bench/auth.ts [--dovecot /var/spool/postfix/private/auth] [--postfix 127.0.0.1:10587|none]
 *     [--user alice@example.test] [--pass alice-lab-pass] [--conns "1 8"] [--logins 1000] [--max-seconds 60] [--json]
 *
 * Needs the lab's Postfix + Dovecot running (../shared/lab: postfix-peer.sh start).
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SmtpClient } from './lib/smtp-client.ts';
import { spawnPostern, type PosternChild } from './lib/postern-child.ts';
import { parseTarget, type Target } from './lib/args.ts';
import { percentile, processTreeCpuMs, machineTicks } from './lib/report.ts';

interface Options {
  dovecot: string;
  postfix: Target | null;
  user: string;
  pass: string;
  conns: number[];
  logins: number;
  maxSeconds: number;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = {
    dovecot: '/var/spool/postfix/private/auth',
    postfix: { host: '127.0.0.1', port: 10587 },
    user: 'alice@example.test',
    pass: 'alice-lab-pass',
    conns: [1, 8],
    logins: 1000,
    maxSeconds: 60,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--dovecot') o.dovecot = v();
    else if (a === '--postfix') {
      const x = v();
      o.postfix = x === 'none' ? null : parseTarget(x, '--postfix');
    } else if (a === '--user') o.user = v();
    else if (a === '--pass') o.pass = v();
    else if (a === '--conns')
      o.conns = v()
        .split(/[\s,]+/)
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 0);
    else if (a === '--logins') o.logins = Math.max(1, Number(v()));
    else if (a === '--max-seconds') o.maxSeconds = Math.max(1, Number(v()));
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown flag ${a}`);
  }
  if (!o.conns.length) throw new Error('--conns needs positive whole numbers');
  return o;
}

interface Cell {
  server: string;
  conns: number;
  logins: number;
  errors: number;
  seconds: number;
  perSecond: number;
  authP50: number | null;
  authP99: number | null;
  sessionP50: number | null;
  serverCpuPct: number | null;
  machineBusyPct: number | null;
}

async function measure(server: string, target: Target, o: Options, conns: number, pid: number | null): Promise<Cell> {
  const auth: number[] = [];
  const session: number[] = [];
  let ok = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  const deadline = performance.now() + o.maxSeconds * 1000;
  const cpu0 = pid ? processTreeCpuMs(pid) : null;
  const m0 = machineTicks();
  const t0 = performance.now();
  const worker = async () => {
    while (ok + errors < o.logins && performance.now() < deadline) {
      const s0 = performance.now();
      let c: SmtpClient | null = null;
      try {
        c = await SmtpClient.open({ host: target.host, port: target.port, tls: 'starttls', ehlo: 'bench.postern.test', timeoutMs: 15_000 });
        const a0 = performance.now();
        await c.auth(o.user, o.pass);
        auth.push(performance.now() - a0);
        await c.quit();
        session.push(performance.now() - s0);
        ok++;
      } catch (err) {
        errors++;
        if (firstErrors.length < 3) firstErrors.push((err as Error).message);
        c?.destroy();
        if (errors > 50) throw new Error(`${server}: too many errors: ${firstErrors.join(' | ')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: conns }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = pid ? processTreeCpuMs(pid) : null;
  const m1 = machineTicks();
  if (firstErrors.length) process.stderr.write(`${server} conns=${conns}: ${errors} errors, e.g. ${firstErrors.join(' | ')}\n`);
  const r = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);
  return {
    server,
    conns,
    logins: ok,
    errors,
    seconds: r(seconds)!,
    perSecond: r(ok / seconds)!,
    authP50: r(percentile(auth, 50)),
    authP99: r(percentile(auth, 99)),
    sessionP50: r(percentile(session, 50)),
    serverCpuPct: cpu0 !== null && cpu1 !== null ? r(((cpu1 - cpu0) / 1000 / seconds) * 100) : null,
    machineBusyPct: m0 && m1 ? r(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100) : null,
  };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const cells: Cell[] = [];
  const run = async (server: string, target: Target, pid: number | null) => {
    // one warm-up login (TLS session set-up, Dovecot's connection, Postern's first-login mailbox)
    await measure(server, target, { ...o, logins: 1 }, 1, null);
    for (const conns of o.conns) {
      cells.push(await measure(server, target, o, conns, pid));
      log(JSON.stringify(cells.at(-1)));
    }
  };
  if (o.postfix) await run('postfix+dovecot', o.postfix, null);
  for (const cacheSeconds of [0, 60]) {
    let p: PosternChild | null = null;
    try {
      p = await spawnPostern({
        user: o.user,
        pass: o.pass,
        tls: 'starttls',
        maxConns: Math.max(...o.conns),
        tlsCert: null,
        tlsKey: null,
        cpuProf: null,
        workers: null,
        delivery: null,
        dovecot: { socket: o.dovecot, cacheSeconds },
        log,
      });
      await run(`postern+dovecot cache ${cacheSeconds ? `${cacheSeconds}s` : 'off'}`, { host: '127.0.0.1', port: p.port }, p.pid);
    } finally {
      await p?.stop();
      if (p) fs.rmSync(p.dir, { recursive: true, force: true });
    }
  }
  if (o.json) process.stdout.write(`${JSON.stringify(cells)}\n`);
  const head = '| server | clients | logins | AUTH/s | AUTH p50 ms | AUTH p99 ms | session p50 ms | server CPU % | machine busy % |';
  const rows = cells.map(
    (c) =>
      `| ${c.server} | ${c.conns} | ${c.logins} | ${c.perSecond} | ${c.authP50 ?? ''} | ${c.authP99 ?? ''} | ${c.sessionP50 ?? ''} | ${c.serverCpuPct ?? ''} | ${c.machineBusyPct ?? ''} |`,
  );
  (o.json ? process.stderr : process.stdout).write(
    [head, '| --- | --- | --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n') + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`bench/auth: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
