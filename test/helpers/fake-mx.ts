/**
 * A scriptable fake recipient MX server for tests, on smtp-server, loopback only. The script
 * picks, per stage, what the server does: accept, reply with a code, drop the connection, never
 * answer, or send one huge reply line. A stage may be a function of the session number and the
 * envelope, so one server can fail the first session and accept the next, or refuse one
 * recipient out of three.
 *
 * Meaning of an action at every stage:
 *   'accept'            the normal reply
 *   'drop'              destroy the socket, no reply (at `data`: right after the 354, mid-DATA)
 *   'hang'              never reply (at `greeting`: same as 'no-greeting'; at `data`: same as
 *                       'silent-after-dot')
 *   { code, text }      code >= 400: that reply (text verbatim, add "4.x.x " yourself); a code
 *                       below 400 means accept, its text is used only for the reply after the dot
 *   { hugeLine, code }  one reply line of about hugeLine bytes (code 250 by default), then silence
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession, type SMTPServerDataStream } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { ensureSelfSigned } from '../../src/listener/index.ts';

export interface FakeMxReply {
  code: number;
  text?: string;
}
export type FakeMxAction = 'accept' | 'drop' | 'hang' | FakeMxReply | { hugeLine: number; code?: number };

export interface FakeMxContext {
  /** 1 for the first connection, 2 for the next... */
  session: number;
  from?: string;
  /** The recipient, at the `rcpt` stage. */
  to?: string;
}

export type Scripted<T> = T | ((ctx: FakeMxContext) => T);

export interface FakeMxScript {
  greeting?: Scripted<FakeMxAction | 'no-greeting'>;
  /** EHLO and HELO. */
  ehlo?: Scripted<FakeMxAction>;
  /** 'hang-handshake': reply 220 to STARTTLS, then never complete the TLS handshake. */
  starttls?: Scripted<FakeMxAction | 'hang-handshake'>;
  mail?: Scripted<FakeMxAction>;
  /** Asked once per recipient, with ctx.to set. */
  rcpt?: Scripted<FakeMxAction>;
  /** The DATA command itself, before the 354. */
  dataCommand?: Scripted<FakeMxAction>;
  /** The reply after the final dot. */
  data?: Scripted<FakeMxAction | 'silent-after-dot'>;
}

export interface FakeMxMessage {
  from: string;
  to: string[];
  data: Buffer;
  tls: boolean;
  ehlo: string;
  /** The client's (peer's) address as the server saw it: where the message came from. */
  remoteAddress: string;
  /** MAIL FROM parameters as smtp-server parsed them (BODY, SMTPUTF8, RET, ENVID...). */
  mailArgs: Record<string, unknown>;
}

export interface FakeMxOptions {
  /** A loopback address; 127.0.0.1 by default. */
  host?: string;
  /** 0 (a free port) by default; several fake MX hosts on 127.0.0.x may share one port. */
  port?: number;
  /** Wait this long before the reply after the final dot (a slow server). */
  dataDelayMs?: number;
  /** Offer STARTTLS with a self-signed certificate. */
  tls?: boolean;
  /** Extra smtp-server options (size, hideDSN, hideSMTPUTF8, hidePIPELINING ...). */
  server?: Partial<SMTPServerOptions>;
}

export interface FakeMx {
  port: number;
  host: string;
  /** Messages answered with a 2xx after the dot. */
  received: FakeMxMessage[];
  /** Messages whose final dot was never answered ('silent-after-dot'). */
  silent: FakeMxMessage[];
  /** Connections that reached the greeting stage so far. */
  readonly sessions: number;
  close(): Promise<void>;
}

let certDir: string | undefined;
async function selfSigned(): Promise<{ key: Buffer; cert: Buffer }> {
  certDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'postern-fake-mx-'));
  const files = await ensureSelfSigned(certDir, 'localhost');
  return { key: fs.readFileSync(files.key), cert: fs.readFileSync(files.cert) };
}

function isLoopback(host: string): boolean {
  return host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
}

function pick<T>(step: Scripted<T> | undefined, ctx: FakeMxContext): T | 'accept' {
  if (step === undefined) return 'accept';
  return typeof step === 'function' ? (step as (c: FakeMxContext) => T)(ctx) : step;
}

function smtpError(r: FakeMxReply): Error & { responseCode: number } {
  return Object.assign(new Error(r.text ?? `Error ${r.code}`), { responseCode: r.code });
}

interface Session {
  n: number;
  conn: SMTPConnection;
}

/**
 * Applies a non-accept action on a connection. Returns true when it did (the caller stops),
 * false for 'accept' and replies below 400 (the caller goes on as normal).
 */
function act(conn: SMTPConnection, action: FakeMxAction | string, reject: (r: FakeMxReply) => void): boolean {
  if (action === 'drop') {
    conn._socket.destroy();
    return true;
  }
  if (typeof action === 'string') return action !== 'accept'; // hang and its aliases: say nothing
  if ('hugeLine' in action) {
    conn.send(action.code ?? 250, 'x'.repeat(action.hugeLine), false);
    return true;
  }
  if (action.code < 400) return false;
  reject(action);
  return true;
}

export async function startFakeMx(script: FakeMxScript, opts: FakeMxOptions = {}): Promise<FakeMx> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`fake MX listens on loopback only, not ${host}`);
  const received: FakeMxMessage[] = [];
  const silent: FakeMxMessage[] = [];
  const sessions = new Map<string, Session>();
  const sockets = new Set<net.Socket>();
  let count = 0;
  const tlsFiles = opts.tls ? await selfSigned() : {};

  const ctxOf = (s: SMTPServerSession, to?: string): FakeMxContext => ({
    session: sessions.get(s.id)?.n ?? 0,
    from: s.envelope?.mailFrom ? s.envelope.mailFrom.address : undefined,
    to,
  });
  const connOf = (s: SMTPServerSession): SMTPConnection => sessions.get(s.id)!.conn;

  const server: SMTPServer = new SMTPServer({
    name: 'fake-mx.test',
    banner: 'fake MX',
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideSTARTTLS: !opts.tls,
    disableReverseLookup: true,
    logger: false,
    ...tlsFiles,
    // honoured when Postern's listener patch is loaded in this process; harmless otherwise
    ...({ greetingDelayMs: 0 } as object),
    ...opts.server,
    onConnect(session, cb) {
      const conn = [...server.connections].find((c) => c.id === session.id);
      if (!conn) return cb(new Error('no connection'));
      sessions.set(session.id, { n: ++count, conn });
      interceptCommands(conn, script, ctxOf(session));
      const action = pick(script.greeting, ctxOf(session));
      if (action === 'no-greeting' || action === 'hang') return ignoreInput(conn);
      if (!act(conn, action, (r) => cb(smtpError(r)))) cb();
    },
    onMailFrom(address, session, cb) {
      const action = pick(script.mail, { ...ctxOf(session), from: address.address });
      if (!act(connOf(session), action, (r) => cb(smtpError(r)))) cb();
    },
    onRcptTo(address, session, cb) {
      const action = pick(script.rcpt, ctxOf(session, address.address));
      if (!act(connOf(session), action, (r) => cb(smtpError(r)))) cb();
    },
    onData(stream, session, cb) {
      const reply = (err?: Error | null, message?: string) =>
        opts.dataDelayMs ? setTimeout(() => cb(err, message), opts.dataDelayMs) : cb(err, message);
      onData(stream, session, connOf(session), pick(script.data, ctxOf(session)), { received, silent }, reply);
    },
    onClose(session) {
      sessions.delete(session.id);
    },
  });
  server.on('error', () => {
    /* a client's reset is not the test's failure */
  });
  server.server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    port,
    host,
    received,
    silent,
    get sessions() {
      return count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** EHLO/HELO, STARTTLS and the DATA command have no smtp-server hook: wrap their handlers. */
function interceptCommands(conn: SMTPConnection, script: FakeMxScript, ctx: FakeMxContext): void {
  const wrap = (name: 'handler_EHLO' | 'handler_HELO' | 'handler_STARTTLS' | 'handler_DATA', step: FakeMxScript['ehlo' | 'starttls']) => {
    if (step === undefined) return;
    const original = conn[name];
    conn[name] = (command: Buffer, callback: () => void) => {
      const action = pick(step, { ...ctx, from: conn.session.envelope?.mailFrom ? conn.session.envelope.mailFrom.address : undefined });
      if (action === 'hang-handshake') return hangHandshake(conn);
      const reject = (r: FakeMxReply) => {
        conn.send(r.code, r.text ?? `Error ${r.code}`, false);
        callback();
      };
      if (!act(conn, action, reject)) original.call(conn, command, callback);
    };
  };
  wrap('handler_EHLO', script.ehlo);
  wrap('handler_HELO', script.ehlo);
  wrap('handler_STARTTLS', script.starttls);
  wrap('handler_DATA', script.dataCommand);
}

/** Never greets and never answers: not even smtp-server's "You talk too soon". */
function ignoreInput(conn: SMTPConnection): void {
  if (conn._parser) conn._socket.unpipe(conn._parser);
  conn._socket.resume();
}

/** Says yes to STARTTLS, then neither reads the ClientHello nor answers it. */
function hangHandshake(conn: SMTPConnection): void {
  conn.send(220, 'Ready to start TLS', false);
  if (conn._parser) conn._socket.unpipe(conn._parser);
  conn._socket.pause();
}

function onData(
  stream: SMTPServerDataStream,
  session: SMTPServerSession,
  conn: SMTPConnection,
  action: FakeMxAction | 'silent-after-dot',
  out: { received: FakeMxMessage[]; silent: FakeMxMessage[] },
  cb: (err?: Error | null, message?: string) => void,
): void {
  if (action === 'drop') {
    conn._socket.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const message: FakeMxMessage = {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((r) => r.address),
      data: Buffer.concat(chunks),
      tls: Boolean(session.secure),
      ehlo: session.hostNameAppearsAs ?? '',
      remoteAddress: session.remoteAddress.replace(/^::ffff:/, ''),
      mailArgs: (session.envelope.mailFrom && (session.envelope.mailFrom.args as Record<string, unknown> | false)) || {},
    };
    if (action === 'silent-after-dot' || action === 'hang') {
      out.silent.push(message);
      return;
    }
    const rejected = act(conn, action, (r) => cb(smtpError(r)));
    if (rejected) return;
    out.received.push(message);
    cb(null, typeof action === 'object' && 'text' in action ? action.text : undefined);
  });
}
