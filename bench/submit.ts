/**
 * `npm run bench`: SMTP submission load generator (STARTTLS/implicit TLS + AUTH PLAIN).
 * Starts a Postern of its own (or measures --target, loopback only), runs the matrix
 * modes x sizes x conns, and prints one Markdown row per cell: accepted msg/s and the latency
 * from the final "." of DATA to the 250. With --e2e the Postern delivers to a sink and each cell
 * also waits until the sink has every accepted message (delivered msg/s, drain).
 * See bench/lib/args.ts for the flags (--help).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs, UsageError, HELP, hostPortText, type BenchOptions, type Mode } from './lib/args.ts';
import { createMessageFactory } from './lib/message.ts';
import { runCell } from './lib/load.ts';
import { spawnPostern, generatedPassword, type PosternChild } from './lib/postern-child.ts';
import {
  percentile,
  processTreeCpuMs,
  processTreesCpuMs,
  machineTicks,
  markdownTable,
  threadsCpuMs,
  threadsPerMessage,
  type CellResult,
} from './lib/report.ts';
import { startOwnSink, fileSink, type SinkCounter } from './lib/e2e.ts';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

interface Ctx {
  o: BenchOptions;
  host: string;
  port: number;
  pass: string;
  serverPids: number[];
  child: PosternChild | null;
  seq: number;
  sink: SinkCounter | null; // --e2e
  sinkPerMessage: number; // sink transactions per accepted message: distinct recipient domains
  sinkBase: number; // the sink's count when the run started
  sinkExpected: number; // transactions the sink should have received from this run so far
}

function serverCpu(pids: number[]): number | null {
  return pids.length ? processTreesCpuMs(pids) : null;
}

/**
 * --e2e: waits (at most --max-seconds) until the sink has everything this run sent so far.
 * Returns null when it has, else why not.
 */
async function drained(ctx: Ctx, what: string): Promise<string | null> {
  const { sink, o } = ctx;
  if (!sink) return null;
  const w = await sink.waitFor(ctx.sinkBase + ctx.sinkExpected, performance.now() + o.maxSeconds * 1000);
  if (w.complete) return null;
  return `${what}: the sink got ${w.count - ctx.sinkBase}/${ctx.sinkExpected} of the run's messages within ${o.maxSeconds} s`;
}

async function measureCell(ctx: Ctx, mode: Mode, size: number, conns: number): Promise<CellResult> {
  const { o, sink } = ctx;
  const factory = createMessageFactory({ size, from: o.from, to: o.to });
  const base = {
    mode,
    conns,
    factory,
    user: o.user,
    pass: ctx.pass,
    from: o.from,
    to: o.to,
    maxErrors: o.maxErrors,
    connect: { host: ctx.host, port: ctx.port, tls: o.tls, ehlo: o.ehlo, timeoutMs: o.cmdTimeoutSeconds * 1000 },
  };
  // e2e: the earlier cells' messages and then the warmup's must all be at the sink first
  const before = await drained(ctx, 'earlier cells');
  if (before) return skipped(o, mode, size, conns, before);
  if (o.warmup > 0) {
    const w = await runCell({ ...base, messages: Math.max(o.warmup, conns), seqStart: ctx.seq, maxSeconds: Math.min(30, o.maxSeconds) });
    ctx.seq = w.nextSeq;
    ctx.sinkExpected += w.accepted * ctx.sinkPerMessage;
    const warm = await drained(ctx, 'warmup');
    if (warm) return skipped(o, mode, size, conns, warm);
  }
  const sink0 = sink?.count() ?? 0;
  const sess0 = sink?.sessions();
  sink?.takePeak();
  const sinkCpu0 = sink?.pid ? processTreeCpuMs(sink.pid) : null;
  const cpu0 = serverCpu(ctx.serverPids);
  const threads0 = o.threads && ctx.serverPids.length === 1 ? threadsCpuMs(ctx.serverPids[0]) : null;
  const own0 = process.cpuUsage();
  const m0 = machineTicks();
  const out = await runCell({ ...base, messages: o.messages, seqStart: ctx.seq, maxSeconds: o.maxSeconds });
  ctx.seq = out.nextSeq;
  // e2e: the measured part ends when the sink has all of this cell's messages (CPU included)
  const expected = out.accepted * ctx.sinkPerMessage;
  ctx.sinkExpected += expected;
  const w = sink ? await sink.waitFor(sink0 + expected, performance.now() + o.maxSeconds * 1000) : null;
  const cpu1 = serverCpu(ctx.serverPids);
  const threads1 = threads0 ? threadsCpuMs(ctx.serverPids[0]) : null;
  const own = process.cpuUsage(own0);
  const m1 = machineTicks();
  const sinkCpu1 = sink?.pid ? processTreeCpuMs(sink.pid) : null;

  const perMsg = (ms: number | null) => (ms === null || !out.accepted ? null : ms / out.accepted);
  const r: CellResult = {
    label: o.label,
    mode,
    conns,
    size,
    messages: o.messages,
    accepted: out.accepted,
    elapsedS: out.elapsedMs / 1000,
    msgPerS: out.elapsedMs > 0 ? (out.accepted * 1000) / out.elapsedMs : 0,
    ackP50: percentile(out.ackMs, 50),
    ackP90: percentile(out.ackMs, 90),
    ackP99: percentile(out.ackMs, 99),
    ackMax: percentile(out.ackMs, 100),
    setupP50: percentile(out.setupMs, 50),
    sessionP50: percentile(out.sessionMs, 50),
    serverCpuMsPerMsg: perMsg(cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null),
    benchCpuMsPerMsg: perMsg((own.user + own.system) / 1000),
    machineBusyPct: m0 && m1 && m1.total > m0.total ? (100 * (m1.busy - m0.busy)) / (m1.total - m0.total) : null,
    errors: out.errors,
    aborted: out.aborted,
  };
  if (threads0 && threads1) r.threadsCpuMsPerMsg = threadsPerMessage(threads0, threads1, out.accepted);
  if (w) {
    // The sink may get the last message before the client has read its 250 (our own sink
    // reports each arrival): then the drain is 0 and the end-to-end time the submission time.
    const end = Math.max(w.at, out.lastAt);
    const e2eS = (end - out.startedAt) / 1000;
    const delivered = w.count - sink0;
    r.delivered = delivered;
    r.expected = expected;
    r.sinkComplete = w.complete;
    r.e2eS = e2eS;
    r.deliveredMsgPerS = e2eS > 0 ? (w.complete ? out.accepted : delivered / ctx.sinkPerMessage) / e2eS : null;
    r.drainS = w.complete ? (end - out.lastAt) / 1000 : null;
    r.sinkExcess = Math.max(0, (sink?.count() ?? 0) - sink0 - expected);
    r.sinkCpuMsPerMsg = perMsg(sinkCpu0 !== null && sinkCpu1 !== null ? sinkCpu1 - sinkCpu0 : null);
    const sess1 = sink!.sessions();
    r.sinkSessions = sess1.opened - (sess0?.opened ?? 0);
    r.sinkEmptySessions = sess1.empty !== null && sess0?.empty != null ? sess1.empty - sess0.empty : null;
    r.sinkPeakConnections = sink!.takePeak();
  }
  return r;
}

function skipped(o: BenchOptions, mode: Mode, size: number, conns: number, why: string): CellResult {
  return {
    label: o.label,
    mode,
    conns,
    size,
    messages: o.messages,
    accepted: 0,
    elapsedS: 0,
    msgPerS: 0,
    ackP50: null,
    ackP90: null,
    ackP99: null,
    ackMax: null,
    setupP50: null,
    sessionP50: null,
    serverCpuMsPerMsg: null,
    benchCpuMsPerMsg: null,
    machineBusyPct: null,
    errors: {},
    aborted: why,
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
        log(
          `  ${r.accepted} accepted in ${r.elapsedS.toFixed(2)} s = ${r.msgPerS.toFixed(0)} msg/s, ack p50 ${r.ackP50?.toFixed(2) ?? '-'} p99 ${r.ackP99?.toFixed(2) ?? '-'} ms` +
            (Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : '') +
            (r.aborted ? `, stopped: ${r.aborted}` : ''),
        );
        if (r.sinkComplete !== undefined) {
          log(
            `  e2e: sink got ${r.delivered}/${r.expected} after ${r.e2eS?.toFixed(2)} s = ${r.deliveredMsgPerS?.toFixed(0)} msg/s delivered` +
              (r.drainS != null ? `, drain ${r.drainS.toFixed(2)} s` : `, gave up after --max-seconds ${o.maxSeconds}`) +
              `; ${r.sinkSessions} connections to the sink` +
              (r.sinkEmptySessions != null ? ` (${r.sinkEmptySessions} without a message)` : '') +
              (r.sinkPeakConnections != null ? `, at most ${r.sinkPeakConnections} at once` : ''),
          );
        }
        if (r.threadsCpuMsPerMsg) {
          const t = Object.entries(r.threadsCpuMsPerMsg).filter(([, ms]) => ms >= 0.005);
          log(`  server CPU by thread (ms/msg): ${t.map(([k, ms]) => `${k} ${ms.toFixed(3)}`).join(', ')}`);
        }
        if (r.sinkExcess)
          log(`  WARNING: the sink got ${r.sinkExcess} messages more than this cell sent (another sender, bounces or duplicates)`);
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
  const ctx: Ctx = {
    o,
    host: '',
    port: 0,
    pass: o.pass,
    serverPids: o.serverPids,
    child: null,
    seq: 1,
    sink: null,
    sinkPerMessage: new Set(o.to.map((t) => t.slice(t.lastIndexOf('@') + 1).toLowerCase())).size,
    sinkBase: 0,
    sinkExpected: 0,
  };
  const killAll = () => {
    ctx.child?.kill();
    ctx.sink?.kill();
  };
  // The whole run is bounded: a watchdog ends it (and our Postern) if the cells overrun. With
  // --e2e a cell may also wait up to --max-seconds for its warmup and for its deliveries.
  const margin = 120 + (o.e2e ? 3 * o.maxSeconds + 30 : 0);
  const watchdog = setTimeout(
    () => {
      log(`watchdog: run exceeded ${o.maxTotalSeconds + margin} s, giving up`);
      killAll();
      process.exit(1);
    },
    (o.maxTotalSeconds + margin) * 1000,
  );
  watchdog.unref();
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping`);
    killAll();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killAll);

  if (o.e2e) {
    try {
      ctx.sink = o.e2e.sink === 'auto' ? await startOwnSink(log) : fileSink(o.e2e.sink, o.e2e.sinkFile!);
    } catch (err) {
      log(`cannot start the sink: ${(err as Error).message}`);
      return 1;
    }
    ctx.sinkBase = ctx.sink.count();
    log(`e2e: ${ctx.sink.describe}, count ${ctx.sinkBase} at the start`);
  }

  if (o.target) {
    ctx.host = o.target.host;
    ctx.port = o.target.port;
  } else {
    ctx.pass ||= generatedPassword();
    try {
      ctx.child = await spawnPostern({
        user: o.user,
        pass: ctx.pass,
        tls: o.tls,
        maxConns: Math.max(...o.conns),
        tlsCert: o.tlsCert,
        tlsKey: o.tlsKey,
        cpuProf: o.cpuProf,
        workers: o.workers,
        log,
        dkim: o.sign,
        delivery: ctx.sink && o.e2e ? { smarthost: hostPortText(ctx.sink.address), concurrency: o.e2e.deliveryConcurrency } : null,
      });
    } catch (err) {
      log(`cannot start postern: ${(err as Error).message}`);
      await ctx.sink?.stop();
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
    await ctx.sink?.stop();
  }
  const table = markdownTable(results, !!o.e2e);
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadavg: os.loadavg(),
    target: `${ctx.host}:${ctx.port}`,
    tls: o.tls,
    spawned: !o.target,
    messages: o.messages,
    warmup: o.warmup,
    ...(o.e2e && ctx.sink
      ? {
          e2e: {
            sink: o.e2e.sink === 'auto' ? 'auto' : hostPortText(o.e2e.sink),
            address: hostPortText(ctx.sink.address),
            sinkFile: o.e2e.sinkFile,
            deliveryConcurrency: o.target ? null : o.e2e.deliveryConcurrency,
            sinkPerMessage: ctx.sinkPerMessage,
          },
        }
      : {}),
  };
  if (o.json) {
    process.stdout.write(JSON.stringify({ meta, results }) + '\n');
    process.stderr.write(table + '\n');
  } else {
    const e2eNote =
      o.e2e && ctx.sink
        ? `; delivered msg/s = accepted / (start of cell to the sink having all of them), drain = last 250 to that moment, CPU columns until then; sink ${ctx.sink.describe}` +
          (o.target ? '' : `, delivery concurrency ${o.e2e.deliveryConcurrency}`)
        : '';
    process.stdout.write(
      `\n${table}\n\n${meta.date}, node ${meta.node}, ${meta.cpus} CPUs, target ${meta.target} (${o.tls})${meta.spawned ? ', Postern spawned by the bench' : ''}; ack = final "." to 250; msg/s = accepted / (start of cell to last 250)${e2eNote}\n`,
    );
  }
  clearTimeout(watchdog);
  return 0;
}

// --dkim: what signing costs (bench/dkim.ts); --scan: what scanning costs (bench/scan.ts);
// --stages: where a delivered message's time goes, stage by stage (bench/stages.ts);
// --store: PostgreSQL against SQLite, two nodes, the claim with a deep queue (bench/store.ts);
// --sendmail: one `postern sendmail` call and the CLI's start against a bare node start (bench/sendmail.ts);
// each instead of the submission matrix
if (process.argv.includes('--dkim')) await import('./dkim.ts');
else if (process.argv.includes('--scan')) await import('./scan.ts');
else if (process.argv.includes('--stages')) await import('./stages.ts');
else if (process.argv.includes('--store')) await import('./store.ts');
else if (process.argv.includes('--sendmail')) await import('./sendmail.ts');
else process.exitCode = await main();
