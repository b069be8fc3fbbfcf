/**
 * Counting deliveries for `--e2e`: either a sink of our own (bench/lib/sink.ts as a child
 * process, reporting its count over IPC) or a running smtp-sink whose `-c` counter file we read
 * (the last "mesg=N" in its tail, like the lab's bench-submit.mjs). Every wait is bounded by a
 * deadline; stop()/kill() end only the sink child this module started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Target } from './args.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_TS = path.join(ROOT, 'bin', 'run-ts.js');
const SINK_TS = path.join(ROOT, 'bench', 'lib', 'sink.ts');
const POLL_MS = 10;

export interface SinkWait {
  count: number; // the sink's count when the wait ended
  at: number; // performance.now() when the count reached the target (or the wait gave up)
  complete: boolean;
}

export interface SinkCounter {
  /** Where the server under test delivers. */
  readonly address: Target;
  /** The sink child's pid (its CPU is counted apart from the server's); null for a running smtp-sink. */
  readonly pid: number | null;
  readonly describe: string;
  /** The sink's current message count. */
  count(): number;
  /** Connections it has had, and (own sink only, else null) how many closed without a message. */
  sessions(): { opened: number; empty: number | null };
  /** Own sink: the most connections open at once since the last call (null for smtp-sink). */
  takePeak(): number | null;
  /** Waits until count() >= target, at most until `deadline` (performance.now() ms). */
  waitFor(target: number, deadline: number): Promise<SinkWait>;
  alive(): boolean;
  stop(): Promise<void>;
  /** Synchronous last resort (process 'exit'). */
  kill(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const grace = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** The last "NAME=N" counter (mesg, sess, ...) in the tail of an smtp-sink -c counter file (rewritten with CR). 0 when absent. */
export function readSinkFile(file: string, counter = 'mesg'): number {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 512);
    const tail = Buffer.alloc(length);
    fs.readSync(fd, tail, 0, length, size - length);
    let last = 0;
    for (const m of tail.toString('latin1').matchAll(new RegExp(`\\b${counter}=(\\d+)`, 'g'))) last = Number(m[1]);
    return last;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A running sink (e.g. the lab's smtp-sink on 127.0.0.1:10026), counted through its counter file. */
export function fileSink(address: Target, file: string): SinkCounter {
  if (!fs.existsSync(file)) throw new Error(`--sink-file ${file} does not exist (is the sink running with -c and its output there?)`);
  return {
    address,
    pid: null,
    describe: `smtp-sink ${address.host}:${address.port}, counter file ${file}`,
    count: () => readSinkFile(file),
    sessions: () => ({ opened: readSinkFile(file, 'sess'), empty: null }),
    takePeak: () => null,
    async waitFor(target, deadline) {
      for (;;) {
        const count = readSinkFile(file);
        const at = performance.now();
        if (count >= target) return { count, at, complete: true };
        if (at >= deadline) return { count, at, complete: false };
        await sleep(Math.min(POLL_MS, Math.max(1, deadline - at)));
      }
    },
    alive: () => true,
    stop: async () => undefined,
    kill: () => undefined,
  };
}

type SinkReport = { type: 'listening'; port: number } | { type: 'count'; n: number; sessions: number; empty: number; open: number };

/** Starts bench/lib/sink.ts on a free 127.0.0.1 port and follows its count over IPC. */
export async function startOwnSink(log: (s: string) => void, timeoutMs = 30_000): Promise<SinkCounter> {
  const child: ChildProcess = spawn(process.execPath, [RUN_TS, SINK_TS], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  child.stderr?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) log(`sink: ${line.trim()}`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;

  let count = 0;
  let sessions = { opened: 0, empty: 0 as number | null };
  let open = 0;
  let peak = 0;
  // (count, time of arrival) of every report, so that a wait that starts late still knows when
  // the target was reached; trimmed to the recent past.
  let history: { n: number; at: number }[] = [];
  const waiters = new Set<() => void>();
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sink did not listen within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the sink exited (${signal ?? `exit ${code}`}) before listening`));
    });
    child.on('message', (m: SinkReport) => {
      if (m.type === 'listening') {
        clearTimeout(timer);
        resolve(m.port);
      } else if (m.type === 'count') {
        sessions = { opened: m.sessions, empty: m.empty };
        open = m.open;
        peak = Math.max(peak, open);
        if (m.n === count) return;
        count = m.n;
        history.push({ n: m.n, at: performance.now() });
        if (history.length > 100_000) history = history.slice(-50_000);
        for (const w of [...waiters]) w();
      }
    });
  }).catch((err: Error) => {
    if (alive()) child.kill('SIGKILL');
    throw err;
  });
  child.on('exit', () => {
    for (const w of [...waiters]) w();
  });

  return {
    address: { host: '127.0.0.1', port },
    pid: child.pid ?? null,
    describe: `bench sink (bench/lib/sink.ts) pid ${child.pid} on 127.0.0.1:${port}`,
    count: () => count,
    sessions: () => sessions,
    takePeak() {
      const p = peak;
      peak = open;
      return p;
    },
    waitFor(target, deadline) {
      const reached = (): SinkWait | null => {
        if (count < target) return null;
        const first = history.find((h) => h.n >= target);
        return { count, at: first?.at ?? performance.now(), complete: true };
      };
      const now = reached();
      if (now) return Promise.resolve(now);
      return new Promise((resolve) => {
        const done = (r: SinkWait) => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(r);
        };
        const check = () => {
          const r = reached();
          if (r) done(r);
          else if (!alive()) done({ count, at: performance.now(), complete: false });
        };
        const timer = setTimeout(() => done({ count, at: performance.now(), complete: false }), Math.max(0, deadline - performance.now()));
        waiters.add(check);
      });
    },
    alive,
    async stop() {
      if (!alive()) return;
      child.kill('SIGTERM');
      const late = await Promise.race([exited.then(() => false), grace(5000).then(() => true)]);
      if (late && alive()) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    kill() {
      if (alive()) child.kill('SIGKILL');
    },
  };
}
