/**
 * A small raw SMTP client for protocol tests: one socket (plain, implicit TLS, or upgraded with
 * STARTTLS), a line reader that assembles multi-line replies, and nothing clever. It sends
 * exactly the bytes it is given, so tests can pipeline, inject NUL bytes or bare line ends.
 * Every read has a timeout so a server that stays silent fails the test instead of hanging it.
 * Loopback only: connect() refuses any other host.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface Reply {
  code: number;
  /** The reply lines without their "250-" / "250 " prefix. */
  lines: string[];
  /** The raw reply lines as received (without CRLF). */
  raw: string[];
  /** The raw lines joined with "\n", for messages and regex checks. */
  text: string;
}

export interface ConnectOptions {
  /** Implicit TLS (port 465 style). */
  tls?: boolean;
  /** Per-read timeout in milliseconds (default 5000). */
  timeoutMs?: number;
  /** Do not wait for the greeting. */
  noGreeting?: boolean;
}

const REPLY_LINE = /^(\d{3})([ -])(.*)$/;
export const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;

export class SmtpClient {
  private socket: net.Socket | tls.TLSSocket;
  private buffer = '';
  private partial: string[] = [];
  private readonly queue: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private ended = false;
  private endError: Error | null = null;
  private readonly timeoutMs: number;
  /** Every reply received, in order. */
  readonly replies: Reply[] = [];
  /** Lines that did not parse as reply lines (protocol garbage from the server). */
  readonly junk: string[] = [];
  greeting: Reply | null = null;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(socket: net.Socket | tls.TLSSocket, timeoutMs: number) {
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.attach(socket);
  }

  static async connect(port: number, opts: ConnectOptions = {}): Promise<SmtpClient> {
    const host = '127.0.0.1';
    const socket = await new Promise<net.Socket | tls.TLSSocket>((resolve, reject) => {
      const s: net.Socket | tls.TLSSocket = opts.tls
        ? tls.connect({ host, port, rejectUnauthorized: false }, () => resolve(s))
        : net.connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const c = new SmtpClient(socket, opts.timeoutMs ?? 5000);
    if (!opts.noGreeting) c.greeting = await c.read();
    return c;
  }

  get secure(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  private attach(socket: net.Socket | tls.TLSSocket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private detach(socket: net.Socket | tls.TLSSocket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer += chunk.toString('latin1');
    let nl: number;
    while ((nl = this.buffer.indexOf('\r\n')) !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 2);
      this.onLine(line);
    }
  };

  private onLine(line: string): void {
    const m = REPLY_LINE.exec(line);
    if (!m) {
      this.junk.push(line);
      return;
    }
    this.partial.push(line);
    if (m[2] === '-') return;
    const raw = this.partial;
    this.partial = [];
    const reply: Reply = {
      code: Number(m[1]),
      raw,
      lines: raw.map((l) => l.slice(4)),
      text: raw.join('\n'),
    };
    this.replies.push(reply);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(reply);
    } else {
      this.queue.push(reply);
    }
  }

  private readonly onError = (err: Error): void => {
    this.endError = err;
  };

  private readonly onClose = (): void => {
    this.ended = true;
    this.resolveClosed();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(new Error(`connection closed while waiting for a reply${this.endError ? ` (${this.endError.message})` : ''}`));
    }
  };

  /** Replies received but not read yet. */
  pending(): Reply[] {
    return [...this.queue];
  }

  /** Bytes received that do not (yet) form a complete line. */
  unparsed(): string {
    return this.buffer;
  }

  /** The next reply, or an error on timeout / close. */
  read(timeoutMs = this.timeoutMs): Promise<Reply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(new Error('connection closed'));
    if (this.waiter) return Promise.reject(new Error('read() called twice concurrently'));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Writes raw bytes (no CRLF added). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Sends one command line (CRLF added) and returns its reply. */
  async send(line: string | Buffer): Promise<Reply> {
    await this.write(typeof line === 'string' ? line + '\r\n' : Buffer.concat([line, Buffer.from('\r\n')]));
    return this.read();
  }

  /** Sends a command and asserts the reply code (and optionally the enhanced code). */
  async expect(line: string | Buffer | null, code: number, enhanced?: string): Promise<Reply> {
    const r = line === null ? await this.read() : await this.send(line);
    const shown = typeof line === 'string' ? line.slice(0, 80) : line === null ? '(read)' : '(bytes)';
    if (r.code !== code) throw new Error(`${shown}: expected ${code}, got: ${r.text}`);
    if (enhanced !== undefined) {
      for (const l of r.lines) {
        if (!l.startsWith(enhanced + ' ') && l !== enhanced) {
          throw new Error(`${shown}: expected enhanced code ${enhanced} on every line, got: ${r.text}`);
        }
      }
    }
    return r;
  }

  async ehlo(name = 'client.test'): Promise<Reply> {
    return this.expect(`EHLO ${name}`, 250);
  }

  /** EHLO keywords (first word of each line after the first). */
  static keywords(ehlo: Reply): string[] {
    return ehlo.lines.slice(1).map((l) => l.split(' ')[0].toUpperCase());
  }

  /** STARTTLS (expects 220) and upgrades the socket. Data pending in the reader is kept for inspection. */
  async starttls(): Promise<void> {
    await this.expect('STARTTLS', 220);
    await this.upgrade();
  }

  /** Upgrades the current plain socket to TLS (after the 220 has been read). */
  async upgrade(): Promise<void> {
    const plain = this.socket;
    this.detach(plain);
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  /** AUTH PLAIN with an initial response. */
  async authPlain(user: string, pass: string, authzid = ''): Promise<Reply> {
    return this.send(`AUTH PLAIN ${Buffer.from(`${authzid}\0${user}\0${pass}`).toString('base64')}`);
  }

  /** STARTTLS (unless already secure), EHLO, AUTH PLAIN; asserts 235. */
  async login(user: string, pass: string): Promise<void> {
    if (!this.secure) {
      await this.ehlo();
      await this.starttls();
    }
    await this.ehlo();
    await this.expect(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`, 235);
  }

  /** Waits until the server closes the connection (or the timeout passes). */
  async waitClosed(timeoutMs = this.timeoutMs): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const done = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  }

  /** QUIT, expect 221, wait for the close. */
  async quit(): Promise<void> {
    await this.expect('QUIT', 221);
    await this.waitClosed();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Lines of replies that do not carry exactly one enhanced status code of the reply's class
 * (RFC 2034 / RFC 3463): "553 5.7.1 text" is right, "553 text" and "553 5.7.1 5.7.1 text" are
 * not. 3xx replies carry none and are skipped, as are the greeting and EHLO/HELO replies.
 */
export function enhancedCodeViolations(replies: Reply[]): string[] {
  const bad: string[] = [];
  for (const r of replies) {
    if (r.code >= 300 && r.code < 400) continue;
    const cls = String(r.code)[0];
    for (const line of r.lines) {
      const words = line.split(' ');
      const ok = ENHANCED.test(words[0]) && words[0][0] === cls && !ENHANCED.test(words[1] ?? '');
      if (!ok) bad.push(`${r.code} ${line}`);
    }
  }
  return bad;
}
