/**
 * A minimal SMTP client for load generation, on node:net and node:tls only: reply parsing
 * (multi-line), STARTTLS or implicit TLS, AUTH PLAIN, one transaction, RSET, QUIT.
 * Every reply wait is bounded by a timeout; a timeout or a broken socket rejects with a
 * SmtpClientError naming the stage, and the connection is destroyed.
 */
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';

export interface Reply {
  code: number;
  lines: string[];
}

export class SmtpClientError extends Error {
  constructor(
    readonly stage: string,
    readonly code: number | null,
    message: string,
  ) {
    super(`${stage}: ${message}`);
  }
  /** "stage:code" or "stage:io" — the key errors are counted by. */
  get key(): string {
    return `${this.stage}:${this.code ?? 'io'}`;
  }
}

export interface ConnectOptions {
  host: string;
  port: number;
  tls: 'starttls' | 'implicit';
  ehlo: string;
  timeoutMs: number;
}

type Sock = net.Socket | tls.TLSSocket;

const TLS_OPTS: tls.ConnectionOptions = { rejectUnauthorized: false, minVersion: 'TLSv1.2' };

export class SmtpClient {
  private sock: Sock;
  private buf = '';
  private lines: string[] = [];
  private ready: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private readonly onData = (chunk: Buffer) => this.feed(chunk);
  extensions = new Set<string>();

  private constructor(
    sock: Sock,
    private readonly timeoutMs: number,
  ) {
    this.sock = sock;
    this.attach(sock);
  }

  /** Connect, greeting, EHLO, TLS (STARTTLS or implicit) and EHLO again. */
  static async open(o: ConnectOptions): Promise<SmtpClient> {
    const sock = await connectSocket(o);
    const c = new SmtpClient(sock, o.timeoutMs);
    try {
      await c.expect('greeting', 220);
      await c.hello(o.ehlo);
      if (o.tls === 'starttls') {
        if (!c.extensions.has('STARTTLS')) throw new SmtpClientError('starttls', null, 'STARTTLS not offered');
        await c.command('starttls', 'STARTTLS', 220);
        await c.upgrade();
        await c.hello(o.ehlo);
      }
      return c;
    } catch (err) {
      c.destroy();
      throw err;
    }
  }

  async auth(user: string, pass: string): Promise<void> {
    const token = Buffer.from(`\0${user}\0${pass}`, 'utf8').toString('base64');
    await this.command('auth', `AUTH PLAIN ${token}`, 235);
  }

  /** One transaction; resolves with the ack latency (final "." written → 250 read), in ms. */
  async send(from: string, to: string[], message: Buffer): Promise<number> {
    await this.command('mail', `MAIL FROM:<${from}>`, 250);
    for (const r of to) await this.command('rcpt', `RCPT TO:<${r}>`, 250);
    await this.command('data', 'DATA', 354);
    if (!this.sock.write(message)) await this.drained();
    const t0 = performance.now();
    this.sock.write('.\r\n');
    await this.expect('ack', 250);
    return performance.now() - t0;
  }

  rset(): Promise<Reply> {
    return this.command('rset', 'RSET', 250);
  }

  /** QUIT, waiting briefly for 221; always ends with the socket closed. */
  async quit(): Promise<void> {
    try {
      if (!this.failure) await this.command('quit', 'QUIT', 221);
    } finally {
      this.sock.end();
      this.sock.destroy();
    }
  }

  destroy(): void {
    this.fail(new SmtpClientError('io', null, 'connection destroyed'));
    this.sock.destroy();
  }

  get broken(): boolean {
    return this.failure !== null;
  }

  async command(stage: string, line: string, want: number): Promise<Reply> {
    if (this.failure) throw this.failure;
    this.sock.write(line + '\r\n');
    return this.expect(stage, want);
  }

  private async hello(name: string): Promise<void> {
    const r = await this.command('ehlo', `EHLO ${name}`, 250);
    this.extensions = new Set(r.lines.slice(1).map((l) => l.slice(4).split(' ')[0].toUpperCase()));
  }

  private async upgrade(): Promise<void> {
    if (this.buf || this.ready.length) throw new SmtpClientError('starttls', null, 'data pipelined after the 220 to STARTTLS');
    const plain = this.sock as net.Socket;
    plain.off('data', this.onData);
    const secure = tls.connect({ ...TLS_OPTS, socket: plain });
    this.sock = secure;
    this.attach(secure);
    await this.bounded(
      'tls',
      new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      }),
    );
  }

  private attach(sock: Sock): void {
    sock.on('data', this.onData);
    sock.on('error', (err) => this.fail(new SmtpClientError('io', null, err.message)));
    sock.on('close', () => this.fail(new SmtpClientError('io', null, 'connection closed')));
  }

  private feed(chunk: Buffer): void {
    this.buf += chunk.toString('latin1');
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, this.buf[nl - 1] === '\r' ? nl - 1 : nl);
      this.buf = this.buf.slice(nl + 1);
      this.lines.push(line);
      if (line[3] === '-') continue;
      const reply = { code: Number(line.slice(0, 3)) || 0, lines: this.lines };
      this.lines = [];
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(reply);
      } else {
        this.ready.push(reply);
      }
    }
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(this.failure);
    }
  }

  private read(): Promise<Reply> {
    const r = this.ready.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private async expect(stage: string, want: number): Promise<Reply> {
    let r: Reply;
    try {
      r = await this.bounded(stage, this.read());
    } catch (err) {
      throw err instanceof SmtpClientError
        ? new SmtpClientError(stage, err.code, err.message)
        : new SmtpClientError(stage, null, (err as Error).message);
    }
    if (r.code !== want) throw new SmtpClientError(stage, r.code, r.lines.join(' | '));
    return r;
  }

  private drained(): Promise<void> {
    return this.bounded(
      'data',
      new Promise<void>((resolve, reject) => {
        const done = () => {
          this.sock.off('drain', done);
          this.sock.off('close', done);
          if (this.failure) reject(this.failure);
          else resolve();
        };
        this.sock.once('drain', done);
        this.sock.once('close', done);
      }),
    );
  }

  private bounded<T>(stage: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new SmtpClientError(stage, null, `no reply within ${this.timeoutMs} ms`);
        this.fail(err);
        this.sock.destroy();
        reject(err);
      }, this.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

function connectSocket(o: ConnectOptions): Promise<Sock> {
  return new Promise((resolve, reject) => {
    const sock: Sock =
      o.tls === 'implicit' ? tls.connect({ ...TLS_OPTS, host: o.host, port: o.port }) : net.connect({ host: o.host, port: o.port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new SmtpClientError('connect', null, `not connected within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    sock.setNoDelay(true);
    sock.once(o.tls === 'implicit' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(new SmtpClientError('connect', null, err.message));
    });
  });
}
