/**
 * The client side of Dovecot's authentication protocol (what Postfix's `smtpd_sasl_type =
 * dovecot` speaks), over a unix socket or TCP: one connection kept open, requests multiplexed
 * by id, each with a timeout. Handshake: both sides send VERSION (major 1), the client its
 * CPID; the server lists MECH, SPID, CUID, COOKIE and ends with DONE. A request is
 * `AUTH id PLAIN service=smtp rip= lip= [secured] no-penalty resp=BASE64(\0user\0pass)`; the
 * answer is OK (with user=), FAIL, or CONT (a challenge, which PLAIN with an initial response
 * never needs: taken as a protocol error). FAIL with `temp` or `code=temp_fail` is Dovecot not
 * knowing (its passdb down), like a lost connection or a timeout: the caller answers 454, never
 * a pass.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseHostPort } from '../core/index.ts';

export type DovecotVerdict = { ok: true; user: string } | { ok: false };

export interface DovecotAuth {
  /** OK or FAIL from Dovecot; rejects when Dovecot cannot answer (down, timeout, temporary failure). */
  check(login: string, password: string, info: { rip?: string; lip?: string; secured?: boolean }): Promise<DovecotVerdict>;
  close(): void;
}

export class DovecotUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DovecotUnavailable';
  }
}

export interface DovecotAuthOptions {
  /** A unix socket path (/run/dovecot/auth-client) or HOST:PORT of an inet auth listener. */
  socket: string;
  timeoutMs: number;
  service?: string;
  /** Told of every request's outcome (metrics): ok, fail, or error, with the seconds it took. */
  observe?: (result: 'ok' | 'fail' | 'error', seconds: number) => void;
}

/** Where to connect: a path, or a host and port. */
export function dovecotTarget(socket: string): net.NetConnectOpts {
  if (socket.startsWith('/')) return { path: socket };
  const hp = parseHostPort(socket, 0);
  if ('error' in hp || !hp.port) throw new Error(`auth.dovecot.socket must be a socket path or HOST:PORT: ${socket}`);
  return { host: hp.host, port: hp.port };
}

/** Dovecot's tab-escaping: \x01 then 0 (NUL), 1 (\x01), t (TAB), r (CR), n or l (LF). */
export function unescapeValue(v: string): string {
  const map: Record<string, string> = { '0': '\0', '1': '\x01', t: '\t', r: '\r', n: '\n', l: '\n' };
  return v.replace(/\x01(.)/gs, (_m, c: string) => map[c] ?? c);
}

/** A value we send must not break the line: no TAB, CR, LF (addresses and IPs never have them). */
const clean = (v: string) => v.replace(/[\t\r\n\x00\x01]/g, '');

interface Pending {
  resolve(v: DovecotVerdict): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

interface Conn {
  socket: net.Socket;
  pending: Map<number, Pending>;
}

export function createDovecotAuth(opts: DovecotAuthOptions): DovecotAuth {
  const target = dovecotTarget(opts.socket);
  const service = opts.service ?? 'smtp';
  let conn: Promise<Conn> | null = null;
  let nextId = 1;
  let closed = false;

  function connect(): Promise<Conn> {
    return new Promise<Conn>((resolve, reject) => {
      const socket = net.connect(target);
      const pending = new Map<number, Pending>();
      const c: Conn = { socket, pending };
      let ready = false;
      let buf = '';
      let major: string | null = null;
      let plain = false;
      const fail = (why: string) => {
        const err = new DovecotUnavailable(`Dovecot auth: ${why}`);
        if (!ready) reject(err);
        for (const p of pending.values()) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        pending.clear();
        socket.destroy();
      };
      const handshakeTimer = setTimeout(() => fail(`no handshake within ${opts.timeoutMs} ms`), opts.timeoutMs);
      socket.setNoDelay(true);
      socket.on('connect', () => socket.write(`VERSION\t1\t2\nCPID\t${process.pid}\n`));
      socket.on('error', (err) => fail(err.message));
      socket.on('close', () => {
        clearTimeout(handshakeTimer);
        fail('connection closed'); // the next request reconnects
      });
      socket.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        if (buf.length > 65536 && !buf.includes('\n')) return fail('line too long');
        let nl: number;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          const f = line.split('\t');
          if (!ready) {
            if (f[0] === 'VERSION') major = f[1] ?? null;
            else if (f[0] === 'MECH' && f[1]?.toUpperCase() === 'PLAIN') plain = true;
            else if (f[0] === 'DONE') {
              clearTimeout(handshakeTimer);
              if (major !== '1') return fail(`unsupported protocol version ${major ?? '(none)'}`);
              if (!plain) return fail('the PLAIN mechanism is not offered');
              ready = true;
              resolve(c);
            }
            continue;
          }
          answer(pending, f);
        }
      });
    });
  }

  /** The open connection, or a new one (the old one was lost: Dovecot restarted). */
  async function open(): Promise<Conn> {
    const current = conn;
    if (current) {
      const c = await current.catch(() => null);
      if (c && !c.socket.destroyed) return c;
      if (conn === current) conn = null;
    }
    const fresh = (conn ??= connect());
    try {
      return await fresh;
    } catch (err) {
      if (conn === fresh) conn = null; // try again on the next request
      throw err;
    }
  }

  function answer(pending: Map<number, Pending>, f: string[]): void {
    const id = Number(f[1]);
    const p = pending.get(id);
    if (!p) return; // an answer after its timeout, or a line we do not use
    pending.delete(id);
    clearTimeout(p.timer);
    const params = f.slice(2);
    const value = (name: string) => {
      const kv = params.find((x) => x.startsWith(`${name}=`));
      return kv === undefined ? undefined : unescapeValue(kv.slice(name.length + 1));
    };
    if (f[0] === 'OK') return p.resolve({ ok: true, user: value('user') ?? '' });
    if (f[0] === 'FAIL') {
      if (params.includes('temp') || value('code') === 'temp_fail')
        return p.reject(new DovecotUnavailable('Dovecot auth: temporary failure (its password database cannot answer)'));
      return p.resolve({ ok: false });
    }
    p.reject(new DovecotUnavailable(`Dovecot auth: unexpected ${f[0]} (PLAIN needs no continuation)`));
  }

  return {
    async check(login, password, info) {
      const t0 = performance.now();
      try {
        const v = await request(login, password, info);
        opts.observe?.(v.ok ? 'ok' : 'fail', (performance.now() - t0) / 1000);
        return v;
      } catch (err) {
        opts.observe?.('error', (performance.now() - t0) / 1000);
        throw err;
      }
    },
    close() {
      closed = true;
      const c = conn;
      conn = null;
      void c?.then(
        (x) => x.socket.destroy(),
        () => undefined,
      );
    },
  };

  async function request(
    login: string,
    password: string,
    info: { rip?: string; lip?: string; secured?: boolean },
  ): Promise<DovecotVerdict> {
    if (closed) throw new DovecotUnavailable('Dovecot auth: client closed');
    const c = await open();
    const id = nextId;
    nextId = nextId >= 0xffffffff ? 1 : nextId + 1;
    const resp = Buffer.concat([Buffer.from([0]), Buffer.from(login, 'utf8'), Buffer.from([0]), Buffer.from(password, 'utf8')]).toString(
      'base64',
    );
    const fields = ['AUTH', String(id), 'PLAIN', `service=${service}`];
    if (info.rip) fields.push(`rip=${clean(info.rip)}`);
    if (info.lip) fields.push(`lip=${clean(info.lip)}`);
    if (info.secured) fields.push('secured');
    // Postern applies its own tarpit, lockout and bans; Dovecot's delay would only slow the socket
    fields.push('no-penalty', `resp=${resp}`);
    return new Promise<DovecotVerdict>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.pending.delete(id);
        reject(new DovecotUnavailable(`Dovecot auth: no answer within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      c.pending.set(id, { resolve, reject, timer });
      c.socket.write(`${fields.join('\t')}\n`);
    });
  }
}
