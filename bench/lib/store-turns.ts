/**
 * Setups of one or more spawned Posterns measured in turns (A, B, then B, A, ...) end to end:
 * the same submission cell (reuse, STARTTLS + AUTH), the load split evenly across a setup's
 * nodes, every node delivering to the bench's own sink, and each cell waiting until the sink
 * has all of its messages. Per cell: accepted msg/s, p50/p99 of the final "." to 250,
 * delivered msg/s, drain, and CPU per message of the Postern processes, of PostgreSQL (the
 * postmaster's whole process tree), of the sink and of the generator. Used by `--store`.
 */
import { performance } from 'node:perf_hooks';
import { createMessageFactory } from './message.ts';
import { runCell, type CellOutcome } from './load.ts';
import { percentile, processTreeCpuMs, processTreesCpuMs, machineTicks } from './report.ts';
import type { PosternChild } from './postern-child.ts';
import type { SinkCounter } from './e2e.ts';
import { pgCpuBetween, type PgSnapshot } from './pg-bench.ts';

export interface Setup {
  label: string;
  nodes: PosternChild[]; // the load is split evenly across them
  pgApps: string[]; // the nodes' application_name in PostgreSQL ("postern NODENAME"); [] for SQLite
}

export interface TurnsContext {
  sink: SinkCounter;
  sinkBase: number; // the sink's count when the run started
  sinkExpected: number; // deliveries the run has asked for so far
  seq: number; // next Message-ID sequence number
  pgPid: number | null; // the postmaster: all of PostgreSQL's CPU (other clients' too)
  /** Commits, WAL and per-process CPU of PostgreSQL (null: not known). */
  pgStats: (() => Promise<PgSnapshot | null>) | null;
  user: string;
  pass: string;
  log: (s: string) => void;
}

export interface CellOptions {
  conns: number;
  messages: number;
  warmup: number;
  size: number;
  maxSeconds: number;
}

export interface StoreCell {
  accepted: number;
  msgPerS: number;
  ackP50: number | null;
  ackP99: number | null;
  deliveredMsgPerS: number | null; // null: the sink did not get everything within maxSeconds
  drainS: number | null;
  posternCpuMsPerMsg: number | null; // the setup's Postern process trees
  pgCpuMsPerMsg: number | null; // the nodes' backends + PostgreSQL's background processes
  pgTreeCpuMsPerMsg: number | null; // the postmaster's whole tree (other clients of the server included)
  sinkCpuMsPerMsg: number | null;
  benchCpuMsPerMsg: number;
  machineBusyPct: number | null;
  /** CPU that neither the Postern nodes, PostgreSQL, the sink nor the generator used (other sessions, the kernel's own threads), % of the machine. */
  othersPct: number | null;
  pgCommitsPerMsg: number | null; // transactions committed in the database per message (every client of it)
  walBytesPerMsg: number | null;
  errors: Record<string, number>;
  aborted: string | null; // the cell stopped early (time limit, errors): its figures cover what it did
}

const cpuOf = processTreesCpuMs;

/** Waits until the sink has everything the run sent so far; throws when it does not within maxSeconds. */
async function drained(ctx: TurnsContext, maxSeconds: number, what: string): Promise<void> {
  const w = await ctx.sink.waitFor(ctx.sinkBase + ctx.sinkExpected, performance.now() + maxSeconds * 1000);
  if (!w.complete)
    throw new Error(`${what}: the sink got ${w.count - ctx.sinkBase}/${ctx.sinkExpected} of the run's messages within ${maxSeconds} s`);
}

/** One cell against a setup: `conns` connections and `messages` messages split evenly across its nodes. */
async function runSplit(ctx: TurnsContext, setup: Setup, o: CellOptions, messages: number): Promise<CellOutcome> {
  const n = setup.nodes.length;
  const factory = createMessageFactory({ size: o.size, from: ctx.user, to: ['rcpt@remote.test'] });
  const parts = setup.nodes.map((node, i) => {
    const share = Math.floor(messages / n) + (i < messages % n ? 1 : 0);
    const seqStart = ctx.seq;
    ctx.seq += share + 1000; // room for retries (a failed message takes a new number)
    return runCell({
      mode: 'reuse',
      conns: o.conns / n,
      messages: share,
      factory,
      user: ctx.user,
      pass: ctx.pass,
      from: ctx.user,
      to: ['rcpt@remote.test'],
      maxErrors: 20,
      maxSeconds: o.maxSeconds,
      seqStart,
      connect: { host: '127.0.0.1', port: node.port, tls: 'starttls', ehlo: 'bench.client.test', timeoutMs: 30_000 },
    });
  });
  const outs = await Promise.all(parts);
  const startedAt = Math.min(...outs.map((x) => x.startedAt));
  const lastAt = Math.max(...outs.map((x) => x.lastAt));
  const errors: Record<string, number> = {};
  for (const x of outs) for (const [k, v] of Object.entries(x.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    accepted: outs.reduce((a, x) => a + x.accepted, 0),
    elapsedMs: lastAt - startedAt,
    startedAt,
    lastAt,
    ackMs: outs.flatMap((x) => x.ackMs),
    setupMs: outs.flatMap((x) => x.setupMs),
    sessionMs: [],
    errors,
    aborted: outs.map((x) => x.aborted).find((a) => a) ?? null,
    nextSeq: ctx.seq,
  };
}

export async function measureCell(ctx: TurnsContext, setup: Setup, o: CellOptions): Promise<StoreCell> {
  if (o.conns % setup.nodes.length) throw new Error(`${o.conns} connections cannot be split evenly across ${setup.nodes.length} nodes`);
  await drained(ctx, o.maxSeconds, 'earlier cells');
  if (o.warmup > 0) {
    const w = await runSplit(ctx, setup, o, Math.max(o.warmup, o.conns));
    ctx.sinkExpected += w.accepted;
    if (w.aborted) ctx.log(`WARNING: ${setup.label} warmup stopped: ${w.aborted} ${JSON.stringify(w.errors)}`);
    await drained(ctx, o.maxSeconds, `${setup.label} warmup`);
  }
  const pids = setup.nodes.map((c) => c.pid);
  const stats0 = ctx.pgStats ? await ctx.pgStats() : null;
  const sink0 = ctx.sink.count();
  const cpu0 = cpuOf(pids);
  const pg0 = ctx.pgPid ? processTreeCpuMs(ctx.pgPid) : null;
  const sinkCpu0 = ctx.sink.pid ? processTreeCpuMs(ctx.sink.pid) : null;
  const own0 = process.cpuUsage();
  const m0 = machineTicks();
  const out = await runSplit(ctx, setup, o, o.messages);
  ctx.sinkExpected += out.accepted;
  if (out.aborted)
    ctx.log(
      `WARNING: ${setup.label}: the cell stopped after ${out.accepted} of ${o.messages} messages: ${out.aborted} ${JSON.stringify(out.errors)}`,
    );
  const w = await ctx.sink.waitFor(sink0 + out.accepted, performance.now() + o.maxSeconds * 1000);
  const cpu1 = cpuOf(pids);
  const pg1 = ctx.pgPid ? processTreeCpuMs(ctx.pgPid) : null;
  const sinkCpu1 = ctx.sink.pid ? processTreeCpuMs(ctx.sink.pid) : null;
  const own = process.cpuUsage(own0);
  const m1 = machineTicks();
  const stats1 = ctx.pgStats ? await ctx.pgStats() : null;
  const per = (a: number | null, b: number | null) => (a === null || b === null || !out.accepted ? null : (b - a) / out.accepted);
  const end = Math.max(w.at, out.lastAt);
  const pgOurs = stats0 && stats1 ? pgCpuBetween(stats0, stats1, setup.pgApps) : null;
  let othersPct: number | null = null;
  if (m0 && m1 && m1.total > m0.total && cpu0 !== null && cpu1 !== null) {
    const ours =
      cpu1 - cpu0 + (pgOurs ?? 0) + (sinkCpu1 !== null && sinkCpu0 !== null ? sinkCpu1 - sinkCpu0 : 0) + (own.user + own.system) / 1000;
    othersPct = Math.max(0, (100 * ((m1.busy - m0.busy) * 10 - ours)) / ((m1.total - m0.total) * 10)); // jiffies of 10 ms
  }
  const statPer = (k: 'commits' | 'walBytes') => (stats0 && stats1 && out.accepted ? (stats1[k] - stats0[k]) / out.accepted : null);
  return {
    accepted: out.accepted,
    msgPerS: out.elapsedMs > 0 ? (out.accepted * 1000) / out.elapsedMs : 0,
    ackP50: percentile(out.ackMs, 50),
    ackP99: percentile(out.ackMs, 99),
    deliveredMsgPerS: w.complete ? (out.accepted * 1000) / (end - out.startedAt) : null,
    drainS: w.complete ? (end - out.lastAt) / 1000 : null,
    posternCpuMsPerMsg: per(cpu0, cpu1),
    pgCpuMsPerMsg: pgOurs === null || !out.accepted ? null : pgOurs / out.accepted,
    pgTreeCpuMsPerMsg: per(pg0, pg1),
    sinkCpuMsPerMsg: per(sinkCpu0, sinkCpu1),
    benchCpuMsPerMsg: (own.user + own.system) / 1000 / Math.max(1, out.accepted),
    machineBusyPct: m0 && m1 && m1.total > m0.total ? (100 * (m1.busy - m0.busy)) / (m1.total - m0.total) : null,
    othersPct,
    pgCommitsPerMsg: statPer('commits'),
    walBytesPerMsg: statPer('walBytes'),
    errors: out.errors,
    aborted: out.aborted ? `${out.accepted}/${o.messages}: ${out.aborted}` : null,
  };
}

export interface SetupResult {
  label: string;
  cells: StoreCell[];
  median: StoreCell;
}

const median = (xs: (number | null)[]): number | null => {
  const a = xs.filter((x): x is number => x !== null).sort((x, y) => x - y);
  return a.length ? a[Math.floor(a.length / 2)]! : null;
};

function medianCell(cells: StoreCell[]): StoreCell {
  const m = (f: (c: StoreCell) => number | null) => median(cells.map(f));
  const errors: Record<string, number> = {};
  for (const c of cells) for (const [k, v] of Object.entries(c.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    accepted: cells.reduce((a, c) => a + c.accepted, 0),
    msgPerS: m((c) => c.msgPerS)!,
    ackP50: m((c) => c.ackP50),
    ackP99: m((c) => c.ackP99),
    deliveredMsgPerS: m((c) => c.deliveredMsgPerS),
    drainS: m((c) => c.drainS),
    posternCpuMsPerMsg: m((c) => c.posternCpuMsPerMsg),
    pgCpuMsPerMsg: m((c) => c.pgCpuMsPerMsg),
    pgTreeCpuMsPerMsg: m((c) => c.pgTreeCpuMsPerMsg),
    sinkCpuMsPerMsg: m((c) => c.sinkCpuMsPerMsg),
    benchCpuMsPerMsg: m((c) => c.benchCpuMsPerMsg)!,
    machineBusyPct: m((c) => c.machineBusyPct),
    othersPct: m((c) => c.othersPct),
    pgCommitsPerMsg: m((c) => c.pgCommitsPerMsg),
    walBytesPerMsg: m((c) => c.walBytesPerMsg),
    errors,
    aborted:
      cells
        .map((c) => c.aborted)
        .filter(Boolean)
        .join('; ') || null,
  };
}

/** `rounds` rounds of A, B (then B, A: the order alternates); medians per setup. */
export async function inTurns(
  ctx: TurnsContext,
  a: Setup,
  b: Setup,
  o: CellOptions & { rounds: number },
): Promise<[SetupResult, SetupResult]> {
  const res: [SetupResult, SetupResult] = [
    { label: a.label, cells: [], median: null! },
    { label: b.label, cells: [], median: null! },
  ];
  for (let r = 0; r < o.rounds; r++) {
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const setup = i ? b : a;
      const c = await measureCell(ctx, setup, o);
      res[i]!.cells.push(c);
      ctx.log(
        `${o.conns} conns, round ${r + 1} ${setup.label}: ${c.msgPerS.toFixed(0)} msg/s accepted, ${c.deliveredMsgPerS?.toFixed(0) ?? '-'} delivered, ` +
          `ack p50 ${c.ackP50?.toFixed(1)} p99 ${c.ackP99?.toFixed(1)} ms, CPU ms/msg postern ${c.posternCpuMsPerMsg?.toFixed(2) ?? '-'} pg ${c.pgCpuMsPerMsg?.toFixed(2) ?? '-'} (all of pg ${c.pgTreeCpuMsPerMsg?.toFixed(2) ?? '-'}), ` +
          `machine ${c.machineBusyPct?.toFixed(0) ?? '-'}% busy (others ${c.othersPct?.toFixed(0) ?? '-'}%), pg ${c.pgCommitsPerMsg?.toFixed(1) ?? '-'} commits ${((c.walBytesPerMsg ?? 0) / 1024).toFixed(1)} KiB WAL per msg` +
          (Object.keys(c.errors).length ? `, errors ${JSON.stringify(c.errors)}` : ''),
      );
    }
  }
  for (const x of res) x.median = medianCell(x.cells);
  return res;
}

const f = (v: number | null, d = 0) => (v === null ? '-' : v.toFixed(d));
const serverMs = (c: StoreCell) => (c.posternCpuMsPerMsg === null ? null : c.posternCpuMsPerMsg + (c.pgCpuMsPerMsg ?? 0));

export const TURNS_HEAD = [
  '| setup | conns | accepted msg/s | ack p50 ms | ack p99 ms | delivered msg/s | drain s | Postern CPU ms/msg | PostgreSQL CPU ms/msg | server CPU ms/msg | msg per server CPU-s | sink + bench CPU ms/msg | DB commits / WAL KiB per msg | machine busy % (others) | rounds accepted / delivered msg/s |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
];

export function turnsRow(x: SetupResult, conns: number | string): string {
  const c = x.median;
  const s = serverMs(c);
  const rounds = x.cells.map((k) => `${f(k.msgPerS)}/${f(k.deliveredMsgPerS)}`).join(', ');
  const errs =
    Object.entries(c.errors)
      .map(([k, v]) => `${k}×${v}`)
      .join(' ') + (c.aborted ? ` stopped ${c.aborted}` : '');
  return (
    `| ${x.label} | ${conns} | ${f(c.msgPerS)} | ${f(c.ackP50, 1)} | ${f(c.ackP99, 1)} | ${f(c.deliveredMsgPerS)} | ${f(c.drainS, 2)} | ${f(c.posternCpuMsPerMsg, 2)} | ` +
    `${f(c.pgCpuMsPerMsg, 2)} | ${f(s, 2)} | ${s ? f(1000 / s) : '-'} | ${f((c.sinkCpuMsPerMsg ?? 0) + c.benchCpuMsPerMsg, 2)} | ` +
    `${f(c.pgCommitsPerMsg, 1)} / ${c.walBytesPerMsg === null ? '-' : (c.walBytesPerMsg / 1024).toFixed(1)} | ${f(c.machineBusyPct)} (${f(c.othersPct)}) | ${rounds}${errs ? `; errors ${errs}` : ''} |`
  );
}

/** "B/A: accepted 0.83, delivered 0.80, server CPU per message 1.45" (medians of the same run). */
export function ratioLine(a: SetupResult, b: SetupResult, conns: number | string): string {
  const r = (x: number | null, y: number | null) => (x === null || y === null || y === 0 ? '-' : (x / y).toFixed(2));
  return (
    `${conns} conns, ${b.label} / ${a.label}: accepted msg/s ${r(b.median.msgPerS, a.median.msgPerS)}, delivered msg/s ${r(b.median.deliveredMsgPerS, a.median.deliveredMsgPerS)}, ` +
    `ack p99 ${r(b.median.ackP99, a.median.ackP99)}, server CPU per message ${r(serverMs(b.median), serverMs(a.median))}`
  );
}
