/**
 * One cell of the matrix: `conns` workers submit `messages` messages in total, either over one
 * reused session each (RSET between messages) or with a new connection per message.
 * Bounded in count (messages, errors, reconnects) and in time (a soft deadline stops claiming
 * new messages; a hard deadline destroys every open connection).
 */
import { performance } from 'node:perf_hooks';
import { SmtpClient, SmtpClientError, type ConnectOptions } from './smtp-client.ts';
import type { MessageFactory } from './message.ts';
import type { Mode } from './args.ts';

export interface CellSpec {
  mode: Mode;
  conns: number;
  messages: number;
  connect: ConnectOptions;
  user: string;
  pass: string;
  from: string;
  to: string[];
  factory: MessageFactory;
  seqStart: number; // first Message-ID sequence number of this cell
  maxSeconds: number;
  maxErrors: number;
}

export interface CellOutcome {
  accepted: number;
  elapsedMs: number; // from the start of the cell to its last accepted message
  startedAt: number; // performance.now() at the start of the cell
  lastAt: number; // performance.now() at its last accepted message (startedAt if none)
  ackMs: number[]; // final "." → 250, one per accepted message
  setupMs: number[]; // connect → 235, one per session
  sessionMs: number[]; // newconn only: connect → 221
  errors: Record<string, number>; // "stage:code" → count
  aborted: string | null; // why the cell stopped early
  nextSeq: number; // first Message-ID sequence number not used by this cell
}

export async function runCell(spec: CellSpec): Promise<CellOutcome> {
  const t0 = performance.now();
  const out: CellOutcome = {
    accepted: 0,
    elapsedMs: 0,
    startedAt: t0,
    lastAt: t0,
    ackMs: [],
    setupMs: [],
    sessionMs: [],
    errors: {},
    aborted: null,
    nextSeq: spec.seqStart,
  };
  const softDeadline = t0 + spec.maxSeconds * 1000;
  const open = new Set<SmtpClient>();
  let claimed = 0;
  let errorCount = 0;
  let seq = spec.seqStart;
  let last = t0;

  const stop = (why: string) => {
    out.aborted ??= why;
  };
  const claim = (): boolean => {
    if (out.aborted) return false;
    if (performance.now() > softDeadline) {
      stop(`time limit ${spec.maxSeconds} s`);
      return false;
    }
    if (claimed >= spec.messages) return false;
    claimed++;
    return true;
  };
  const failed = (err: unknown) => {
    const key = err instanceof SmtpClientError ? err.key : `internal:${(err as Error).message}`;
    out.errors[key] = (out.errors[key] ?? 0) + 1;
    claimed--; // the message is tried again
    if (++errorCount >= spec.maxErrors) stop(`${errorCount} errors`);
  };
  const accepted = (ack: number) => {
    out.accepted++;
    out.ackMs.push(ack);
    last = performance.now();
  };
  const session = async (): Promise<SmtpClient> => {
    const s0 = performance.now();
    const c = await SmtpClient.open(spec.connect);
    open.add(c);
    try {
      await c.auth(spec.user, spec.pass);
    } catch (err) {
      open.delete(c);
      c.destroy();
      throw err;
    }
    out.setupMs.push(performance.now() - s0);
    return c;
  };
  const close = async (c: SmtpClient) => {
    open.delete(c);
    await c.quit().catch(() => undefined);
  };

  async function reuseWorker(): Promise<void> {
    let c: SmtpClient | null = null;
    let dirty = false; // a transaction happened since the last RSET
    while (claim()) {
      try {
        if (!c || c.broken) {
          if (c) open.delete(c);
          c = await session();
          dirty = false;
        }
        if (dirty) await c.rset();
        dirty = true;
        accepted(await c.send(spec.from, spec.to, spec.factory.make(seq++)));
      } catch (err) {
        failed(err);
      }
    }
    if (c) await close(c);
  }

  async function newconnWorker(): Promise<void> {
    while (claim()) {
      const s0 = performance.now();
      let c: SmtpClient | null = null;
      try {
        c = await session();
        const ack = await c.send(spec.from, spec.to, spec.factory.make(seq++));
        accepted(ack);
        open.delete(c);
        await c.quit();
        out.sessionMs.push(performance.now() - s0);
      } catch (err) {
        if (c) {
          open.delete(c);
          c.destroy();
        }
        if (!(err instanceof SmtpClientError && err.stage === 'quit')) failed(err);
      }
    }
  }

  // Hard deadline: whatever still waits on a reply a few seconds after the soft deadline is cut.
  const hard = setTimeout(
    () => {
      stop('hard time limit');
      for (const c of open) c.destroy();
    },
    spec.maxSeconds * 1000 + spec.connect.timeoutMs + 1000,
  );
  try {
    const worker = spec.mode === 'reuse' ? reuseWorker : newconnWorker;
    await Promise.all(Array.from({ length: spec.conns }, () => worker()));
  } finally {
    clearTimeout(hard);
    for (const c of open) c.destroy();
  }
  out.elapsedMs = last - t0;
  out.lastAt = last;
  out.nextSeq = seq;
  return out;
}
