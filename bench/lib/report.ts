/** Percentiles, CPU accounting (/proc) and the Markdown table. */
import fs from 'node:fs';
import type { Mode } from './args.ts';

export interface CellResult {
  label: string;
  mode: Mode;
  conns: number;
  size: number;
  messages: number;
  accepted: number;
  elapsedS: number;
  msgPerS: number;
  ackP50: number | null;
  ackP90: number | null;
  ackP99: number | null;
  ackMax: number | null;
  setupP50: number | null;
  sessionP50: number | null;
  serverCpuMsPerMsg: number | null; // only when the server's pid is known (spawned Postern)
  benchCpuMsPerMsg: number | null; // this generator's own CPU
  machineBusyPct: number | null; // whole machine, all cores, during the cell
  errors: Record<string, number>;
  aborted: string | null;
  // --e2e only (absent otherwise):
  delivered?: number; // messages the sink received for this cell (its count minus the count at the start)
  expected?: number; // what it should receive: accepted x distinct recipient domains
  sinkComplete?: boolean; // it received all of them within --max-seconds
  e2eS?: number | null; // start of the cell -> the sink had all of them
  deliveredMsgPerS?: number | null; // accepted / e2eS (delivered / time waited when incomplete)
  drainS?: number | null; // last 250 -> the sink had all of them (null when incomplete)
  sinkExcess?: number; // the sink got more than expected (another sender, bounces, duplicates)
  sinkCpuMsPerMsg?: number | null; // the bench's own sink (--e2e auto)
  sinkSessions?: number; // connections the sink got during the cell (start to the end of the wait)
  sinkEmptySessions?: number | null; // of those, closed without a message (own sink only)
  sinkPeakConnections?: number | null; // most connections open at the sink at once (own sink only; sampled at its reports)
  threadsCpuMsPerMsg?: Record<string, number>; // --threads: the server's CPU per message by process and thread
}

/** Nearest-rank percentile of an unsorted sample (null when empty). */
export function percentile(sample: number[], p: number): number | null {
  if (!sample.length) return null;
  const s = [...sample].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function statFields(pid: number | string): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // after the command name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * user+system CPU ms of a process and all its live descendants (node:cluster workers, helper
 * processes), plus what finished children left in cutime/cstime; null when unreadable.
 */
/** CPU milliseconds of several process trees together, or null when one cannot be read. */
export function processTreesCpuMs(pids: number[]): number | null {
  let sum = 0;
  for (const p of pids) {
    const ms = processTreeCpuMs(p);
    if (ms === null) return null;
    sum += ms;
  }
  return sum;
}

export function processTreeCpuMs(root: number): number | null {
  const tree = processTree(root);
  return tree && tree.reduce((ms, p) => ms + p.cpuTicks, 0) * TICK_MS;
}

/** The live processes of a tree, root first, then by pid; cpuTicks includes finished children's. */
function processTree(root: number): { pid: number; cpuTicks: number }[] | null {
  if (!statFields(root)) return null;
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (!f) continue;
    const pid = Number(name);
    const ppid = Number(f[1]);
    cpu.set(pid, Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const pids: number[] = [];
  const todo = [root];
  for (let guard = 0; todo.length && guard < 10_000; guard++) {
    const pid = todo.pop()!;
    pids.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  const [first, ...rest] = pids;
  return [first, ...rest.sort((a, b) => a - b)].map((pid) => ({ pid, cpuTicks: cpu.get(pid) ?? 0 }));
}

/**
 * CPU ms of every thread of a process tree (`--threads`), by process and thread name. The root
 * is "server", or "supervisor" when it has children ("worker 1", "worker 2", ... by pid);
 * threads of one name in one process are added up (libuv's pool, V8's helpers). Threads that
 * ended are not counted. Null when the root is gone.
 */
export function threadsCpuMs(root: number): Map<string, number> | null {
  const tree = processTree(root);
  if (!tree) return null;
  const out = new Map<string, number>();
  tree.forEach(({ pid }, i) => {
    const label = i === 0 ? (tree.length > 1 ? 'supervisor' : 'server') : `worker ${i}`;
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      return; // gone meanwhile
    }
    for (const tid of tasks) {
      const f = statFields(`${pid}/task/${tid}`);
      if (!f) continue;
      let name: string;
      try {
        name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      const key = `${label}: ${name}`;
      out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) * TICK_MS);
    }
  });
  return out;
}

/** What each thread spent between two threadsCpuMs readings, in ms per message (threads that spent nothing left out). */
export function threadsPerMessage(before: Map<string, number>, after: Map<string, number>, messages: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, ms] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const spent = ms - (before.get(key) ?? 0);
    if (spent > 0 && messages > 0) out[key] = spent / messages;
  }
  return out;
}

/** Busy and total jiffies of the whole machine. */
export function machineTicks(): { busy: number; total: number } | null {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = cpu[3] + cpu[4]; // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

const num = (v: number | null, digits = 1) => (v === null ? '-' : v.toFixed(digits));
const sizeLabel = (n: number) => (n % 1024 === 0 ? `${n / 1024}K` : `${n}`);

/** e2e: with the "delivered msg/s" and "drain s" columns (--e2e). */
export function markdownTable(results: CellResult[], e2e = false): string {
  const head = [
    'target',
    'mode',
    'conns',
    'size',
    'accepted',
    'msg/s',
    ...(e2e ? ['delivered msg/s', 'drain s'] : []),
    'ack p50 ms',
    'ack p99 ms',
    'ack max ms',
    'setup p50 ms',
    'server CPU ms/msg',
    'bench CPU ms/msg',
    'machine busy %',
    'errors',
  ];
  const rows = results.map((r) => [
    r.label,
    r.mode,
    String(r.conns),
    sizeLabel(r.size),
    `${r.accepted}/${r.messages}`,
    num(r.msgPerS, 0),
    ...(e2e ? [num(r.deliveredMsgPerS ?? null, 0), num(r.drainS ?? null, 2)] : []),
    num(r.ackP50, 2),
    num(r.ackP99, 2),
    num(r.ackMax, 1),
    num(r.setupP50, 1),
    num(r.serverCpuMsPerMsg, 2),
    num(r.benchCpuMsPerMsg, 2),
    num(r.machineBusyPct, 0),
    errorText(r),
  ]);
  return [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function errorText(r: CellResult): string {
  const parts = Object.entries(r.errors).map(([k, v]) => `${k}×${v}`);
  if (r.sinkComplete === false) parts.push(`sink got ${r.delivered}/${r.expected}`);
  if (r.sinkExcess) parts.push(`sink got ${r.sinkExcess} extra`);
  if (r.aborted) parts.push(`stopped: ${r.aborted}`);
  return parts.length ? parts.join(', ') : '0';
}
