/**
 * rspamd's HTTP protocol (POST /checkv2): the message streams to rspamd as it streams to the
 * spool (a tap beside intake's pipeline, chunked transfer: nothing is buffered), with the
 * envelope, the authenticated user, the client address and the queue id in the request header
 * fields rspamd reads. A message past the size cap is not scanned (the request is abandoned);
 * a scanner that does not answer within the timeout, or fails, is reported as such, never as
 * a verdict.
 */
import http from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

export interface ScanContext {
  queueId: string;
  sender: string;
  recipients: string[];
  clientIp: string;
  helo: string;
  /** The login or the site that sends it, or null (relayed mail). */
  user: string | null;
}

/** rspamd's answer, as far as Postern uses it. */
export interface RspamdResult {
  action: string; // "no action", "add header", "rewrite subject", "greylist", "soft reject", "reject"
  score: number;
  requiredScore: number;
  symbols: string[];
}

export type ScanOutcome =
  | { kind: 'scanned'; result: RspamdResult; ms: number }
  | { kind: 'skipped'; why: string }
  | { kind: 'failed'; why: string; ms: number };

export interface RspamdOptions {
  url: string;
  timeoutMs: number;
  maxBytes: number;
}

// No cap on sockets: each message in flight holds one connection to rspamd while its client
// sends, so a cap would let a few slow clients make everybody else wait for a socket.
const agent = new http.Agent({ keepAlive: true });

/** Header values are bytes to rspamd: UTF-8 (an SMTPUTF8 address) as the raw octets. */
const octets = (v: string) => Buffer.from(v, 'utf8').toString('latin1');

function parse(body: string): RspamdResult | null {
  try {
    const j = JSON.parse(body) as { action?: unknown; score?: unknown; required_score?: unknown; symbols?: Record<string, unknown> };
    if (typeof j.action !== 'string' || typeof j.score !== 'number') return null;
    return {
      action: j.action,
      score: j.score,
      requiredScore: typeof j.required_score === 'number' ? j.required_score : 0,
      symbols: Object.keys(j.symbols ?? {}),
    };
  } catch {
    return null;
  }
}

/** A pass-through stream that scans what flows through it; `outcome()` after the end. */
export class ScanTap extends Transform {
  private req: http.ClientRequest | null = null;
  private bytes = 0;
  private readonly settled: Promise<ScanOutcome>;
  private skip: string | null = null;
  private readonly started = performance.now();
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  /** A chunk waiting for rspamd to drain, and the timer that gives up on it. */
  private waiting: (() => void) | null = null;
  private stall: NodeJS.Timeout | null = null;
  private finish: (o: ScanOutcome) => void = () => undefined;

  constructor(o: RspamdOptions, ctx: ScanContext) {
    super();
    this.maxBytes = o.maxBytes;
    this.timeoutMs = o.timeoutMs;
    const ms = () => Math.round(performance.now() - this.started);
    this.settled = new Promise<ScanOutcome>((resolve) => {
      this.finish = (out) => {
        if (this.timer) clearTimeout(this.timer);
        // whatever comes after the answer (or the failure) flows past: nothing writes to it any more
        const req = this.req;
        this.req = null;
        if (req && !req.writableFinished) req.destroy();
        this.release();
        resolve(out);
      };
    });
    const headers: Record<string, string | string[]> = {
      'transfer-encoding': 'chunked',
      'queue-id': ctx.queueId,
      from: octets(ctx.sender || '<>'),
      ip: ctx.clientIp,
      helo: octets(ctx.helo),
      rcpt: ctx.recipients.map(octets),
      pass: 'all',
    };
    if (ctx.user) headers.user = octets(ctx.user);
    let req: http.ClientRequest;
    try {
      req = http.request(new URL('/checkv2', o.url), { method: 'POST', headers, agent });
    } catch (err) {
      this.finish({ kind: 'failed', why: (err as Error).message, ms: 0 });
      return;
    }
    this.req = req;
    this.expire = () => this.finish({ kind: 'failed', why: `no answer within ${this.timeoutMs} ms`, ms: ms() });
    req.on('error', (err: NodeJS.ErrnoException) =>
      this.finish(this.skip ? { kind: 'skipped', why: this.skip } : { kind: 'failed', why: err.code ?? err.message, ms: ms() }),
    );
    req.on('close', () => this.release());
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('error', (err) => this.finish({ kind: 'failed', why: err.message, ms: ms() }));
      res.on('end', () => {
        if (res.statusCode !== 200) return this.finish({ kind: 'failed', why: `HTTP ${res.statusCode}: ${body.slice(0, 200)}`, ms: ms() });
        const result = parse(body);
        this.finish(
          result ? { kind: 'scanned', result, ms: ms() } : { kind: 'failed', why: 'an answer that is not rspamd JSON', ms: ms() },
        );
      });
    });
  }

  private expire: () => void = () => undefined;

  private release(): void {
    if (this.stall) clearTimeout(this.stall);
    this.stall = null;
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.req && this.bytes > this.maxBytes) {
      this.skip = `larger than ${this.maxBytes} bytes: not scanned`;
      this.req.destroy();
      this.req = null;
    }
    const req = this.req;
    if (!req || req.destroyed) return cb(null, chunk);
    // backpressure from rspamd slows the client down, as the spool does; but an rspamd that stops
    // reading is given up after the timeout, never waited for forever
    if (req.write(chunk)) return cb(null, chunk);
    this.waiting = () => cb(null, chunk);
    this.stall = setTimeout(
      () =>
        this.finish({
          kind: 'failed',
          why: `rspamd stopped reading for ${this.timeoutMs} ms`,
          ms: Math.round(performance.now() - this.started),
        }),
      this.timeoutMs,
    );
    this.stall.unref();
    req.once('drain', () => this.release());
  }

  override _flush(cb: TransformCallback): void {
    if (this.req && !this.req.destroyed) {
      this.req.end();
      // the timeout counts from the end of the message: a slow client is not the scanner's fault
      this.timer = setTimeout(() => this.expire(), this.timeoutMs);
      this.timer.unref();
    }
    cb();
  }

  /** What the scan found; call after the stream ended. */
  outcome(): Promise<ScanOutcome> {
    if (this.skip) return Promise.resolve({ kind: 'skipped', why: this.skip });
    return this.settled;
  }

  /** Abandons the scan (the message was refused for another reason). */
  abandon(): void {
    this.finish({ kind: 'skipped', why: 'abandoned' });
  }
}
