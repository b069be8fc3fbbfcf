/**
 * The bench's own delivery sink (`--e2e auto`): an SMTP server on smtp-server that accepts
 * every message (no TLS, no AUTH, no reverse DNS), discards the body and counts messages.
 * Run as a child of the bench: `node bin/run-ts.js bench/lib/sink.ts [--port N]`.
 *
 * It listens on 127.0.0.1 (port 0 = a free one, never one of the lab's) and reports:
 *  - over IPC when it has a channel: { type: 'listening', port } once, then
 *    { type: 'count', n, sessions, empty, open } whenever a count changed (at most one report per
 *    2 ms; the last change is always sent): messages, connections, connections closed without a
 *    message, connections open now;
 *  - otherwise on stdout: "listening PORT", then "count N sessions S empty E open O" lines.
 * It exits when its parent goes away (IPC disconnect), on SIGTERM/SIGINT, or after --max-seconds.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type net from 'node:net';

const RESERVED = new Set([10025, 10026, 10465, 10587]); // the Postfix peer lab's ports
const MIN_GAP_MS = 2;

type Report = { type: 'listening'; port: number } | { type: 'count'; n: number; sessions: number; empty: number; open: number };

function report(r: Report): void {
  if (process.send) process.send(r);
  else
    process.stdout.write(
      r.type === 'listening' ? `listening ${r.port}\n` : `count ${r.n} sessions ${r.sessions} empty ${r.empty} open ${r.open}\n`,
    );
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`sink: --${name} needs a whole number\n`);
    process.exit(64);
  }
  return n;
}

const wantPort = option('port', 0);
const maxSeconds = option('max-seconds', 24 * 3600);

let count = 0;
let sessions = 0;
let empty = 0;
const perSession = new Map<string, number>(); // open connections: messages so far
let reported = '';
let lastSent = 0;
let timer: NodeJS.Timeout | null = null;

function flush(): void {
  timer = null;
  const key = `${count}/${sessions}/${empty}/${perSession.size}`;
  if (key === reported) return;
  reported = key;
  lastSent = performance.now();
  report({ type: 'count', n: count, sessions, empty, open: perSession.size });
}

function changed(): void {
  if (timer) return;
  const wait = lastSent + MIN_GAP_MS - performance.now();
  if (wait <= 0) flush();
  else timer = setTimeout(flush, wait);
}

function newServer(): SMTPServer {
  return new SMTPServer({
    name: 'sink.bench.test',
    banner: 'bench sink',
    secure: false,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    noDelay: true,
    socketTimeout: 120_000,
    closeTimeout: 1000,
    onConnect(session: SMTPServerSession, callback: (err?: Error | null) => void) {
      sessions++;
      perSession.set(session.id, 0);
      changed();
      callback();
    },
    onClose(session: SMTPServerSession) {
      if (perSession.get(session.id) === 0) {
        empty++;
        changed();
      }
      perSession.delete(session.id);
      changed();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        count++;
        perSession.set(session.id, (perSession.get(session.id) ?? 0) + 1);
        changed();
        callback();
      });
      stream.resume(); // discard the body
    },
  } as ConstructorParameters<typeof SMTPServer>[0]);
}

function listen(server: SMTPServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve((server.server.address() as net.AddressInfo).port);
    });
  });
}

async function main(): Promise<void> {
  if (RESERVED.has(wantPort)) throw new Error(`port ${wantPort} belongs to the Postfix peer lab`);
  let server: SMTPServer | null = null;
  let port = 0;
  for (let i = 0; i < 20 && !server; i++) {
    const s = newServer();
    port = await listen(s, wantPort);
    if (RESERVED.has(port)) await new Promise<void>((r) => s.close(() => r()));
    else server = s;
  }
  if (!server) throw new Error('no free loopback port found');
  server.on('error', (err: Error) => process.stderr.write(`sink: ${err.message}\n`));
  report({ type: 'listening', port });

  const exit = () => process.exit(0);
  process.on('disconnect', exit);
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
  setTimeout(exit, maxSeconds * 1000).unref();
}

main().catch((err: Error) => {
  process.stderr.write(`sink: ${err.message}\n`);
  process.exit(1);
});
