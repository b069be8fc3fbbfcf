/**
 * `npm run bench`: SMTP submission load generator (STARTTLS/implicit TLS + AUTH PLAIN).
 * Starts a Postern of its own (or measures --target, loopback only), runs the matrix
 * modes x sizes x conns, and prints one Markdown row per cell: accepted msg/s and the latency
 * from the final "." of DATA to the 250. See bench/lib/args.ts for the flags (--help).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs, UsageError, HELP, type BenchOptions, type Mode } from './lib/args.ts';
import { createMessageFactory } from './lib/message.ts';
import { runCell } from './lib/load.ts';
import { spawnPostern, generatedPassword, type PosternChild } from './lib/postern-child.ts';
import { percentile, processTreeCpuMs, machineTicks, markdownTable, type CellResult } from './lib/report.ts';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

interface Ctx {
  o: BenchOptions;
  host: string;
  port: number;
  pass: string;
  serverPids: number[];
  child: PosternChild | null;
  seq: number;
}

function serverCpu(pids: number[]): number | null {
  if (!pids.length) return null;
  let sum = 0;
  for (const p of pids) {
    const ms = processTreeCpuMs(p);
    if (ms === null) return null;
    sum += ms;
  }
  return sum;
}

async function measureCell(ctx: Ctx, mode: Mode, size: number, conns: number): Promise<CellResult> {
  const { o } = ctx;
  const factory = createMessageFactory({ size, from: o.from, to: o.to });
  const base = {
    mode, conns, factory, user: o.user, pass: ctx.pass, from: o.from, to: o.to, maxErrors: o.maxErrors,
    connect: { host: ctx.host, port: ctx.port, tls: o.tls, ehlo: o.ehlo, timeoutMs: o.cmdTimeoutSeconds * 1000 },
  };
  if (o.warmup > 0) {
    const w = await runCell({ ...base, messages: Math.max(o.warmup, conns), seqStart: ctx.seq, maxSeconds: Math.min(30, o.maxSeconds) });
    ctx.seq = w.nextSeq;
  }
  const cpu0 = serverCpu(ctx.serverPids);
  const own0 = process.cpuUsage();
  const m0 = machineTicks();
  const out = await runCell({ ...base, messages: o.messages, seqStart: ctx.seq, maxSeconds: o.maxSeconds });
  const cpu1 = serverCpu(ctx.serverPids);
  const own = process.cpuUsage(own0);
  const m1 = machineTicks();
  ctx.seq = out.nextSeq;

  const perMsg = (ms: number | null) => (ms === null || !out.accepted ? null : ms / out.accepted);
  return {
    label: o.label, mode, conns, size, messages: o.messages, accepted: out.accepted,
    elapsedS: out.elapsedMs / 1000,
    msgPerS: out.elapsedMs > 0 ? (out.accepted * 1000) / out.elapsedMs : 0,
    ackP50: percentile(out.ackMs, 50), ackP90: percentile(out.ackMs, 90), ackP99: percentile(out.ackMs, 99),
    ackMax: percentile(out.ackMs, 100), setupP50: percentile(out.setupMs, 50), sessionP50: percentile(out.sessionMs, 50),
    serverCpuMsPerMsg: perMsg(cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null),
    benchCpuMsPerMsg: perMsg((own.user + own.system) / 1000),
    machineBusyPct: m0 && m1 && m1.total > m0.total ? (100 * (m1.busy - m0.busy)) / (m1.total - m0.total) : null,
    errors: out.errors, aborted: out.aborted,
  };
}

function skipped(o: BenchOptions, mode: Mode, size: number, conns: number, why: string): CellResult {
  return {
    label: o.label, mode, conns, size, messages: o.messages, accepted: 0, elapsedS: 0, msgPerS: 0,
    ackP50: null, ackP90: null, ackP99: null, ackMax: null, setupP50: null, sessionP50: null,
    serverCpuMsPerMsg: null, benchCpuMsPerMsg: null, machineBusyPct: null, errors: {}, aborted: why,
  };
}

async function runMatrix(ctx: Ctx): Promise<CellResult[]> {
  const { o } = ctx;
  const results: CellResult[] = [];
  const until = performance.now() + o.maxTotalSeconds * 1000;
  for (const mode of o.modes) {
    for (const size of o.sizes) {
      for (const conns of o.conns) {
        if (ctx.child && !ctx.child.alive()) {
          results.push(skipped(o, mode, size, conns, 'postern exited'));
          continue;
        }
        if (performance.now() > until) {
          results.push(skipped(o, mode, size, conns, `skipped: --max-total-seconds ${o.maxTotalSeconds}`));
          continue;
        }
        log(`cell ${mode} conns=${conns} size=${size} ...`);
        const r = await measureCell(ctx, mode, size, conns);
        log(`  ${r.accepted} accepted in ${r.elapsedS.toFixed(2)} s = ${r.msgPerS.toFixed(0)} msg/s, ack p50 ${r.ackP50?.toFixed(2)} p99 ${r.ackP99?.toFixed(2)} ms` +
          (Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : '') + (r.aborted ? `, stopped: ${r.aborted}` : ''));
        results.push(r);
        if (o.cooldownMs) await new Promise((res) => setTimeout(res, o.cooldownMs));
      }
    }
  }
  return results;
}

async function main(): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      const help = err.message === HELP;
      (help ? process.stdout : process.stderr).write(help ? HELP : `bench: ${err.message}\n(--help for the options)\n`);
      return help ? 0 : 64;
    }
    throw err;
  }
  const ctx: Ctx = { o, host: '', port: 0, pass: o.pass, serverPids: o.serverPids, child: null, seq: 1 };
  // The whole run is bounded: a watchdog ends it (and our Postern) if the cells overrun.
  const watchdog = setTimeout(() => {
    log(`watchdog: run exceeded ${o.maxTotalSeconds + 120} s, giving up`);
    ctx.child?.kill();
    process.exit(1);
  }, (o.maxTotalSeconds + 120) * 1000);
  watchdog.unref();
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping`);
    ctx.child?.kill();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => ctx.child?.kill());

  if (o.target) {
    ctx.host = o.target.host;
    ctx.port = o.target.port;
  } else {
    ctx.pass ||= generatedPassword();
    try {
      ctx.child = await spawnPostern({
        user: o.user, pass: ctx.pass, tls: o.tls, maxConns: Math.max(...o.conns),
        tlsCert: o.tlsCert, tlsKey: o.tlsKey, cpuProf: o.cpuProf, workers: o.workers, log,
      });
    } catch (err) {
      log(`cannot start postern: ${(err as Error).message}`);
      return 1;
    }
    ctx.host = '127.0.0.1';
    ctx.port = ctx.child.port;
    ctx.serverPids = [ctx.child.pid];
  }

  let results: CellResult[];
  try {
    results = await runMatrix(ctx);
  } finally {
    if (ctx.child) {
      await ctx.child.stop();
      log(`postern stopped; its files are in ${ctx.child.dir}${o.keep ? '' : ' (removed)'}`);
      if (!o.keep) {
        const fs = await import('node:fs');
        fs.rmSync(ctx.child.dir, { recursive: true, force: true });
      }
    }
  }
  const table = markdownTable(results);
  const meta = {
    date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(),
    target: `${ctx.host}:${ctx.port}`, tls: o.tls, spawned: !o.target, messages: o.messages, warmup: o.warmup,
  };
  if (o.json) {
    process.stdout.write(JSON.stringify({ meta, results }) + '\n');
    process.stderr.write(table + '\n');
  } else {
    process.stdout.write(`\n${table}\n\n${meta.date}, node ${meta.node}, ${meta.cpus} CPUs, target ${meta.target} (${o.tls})${meta.spawned ? ', Postern spawned by the bench' : ''}; ack = final "." to 250; msg/s = accepted / (start of cell to last 250)\n`);
  }
  clearTimeout(watchdog);
  return 0;
}

process.exitCode = await main();
