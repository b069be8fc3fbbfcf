/**
 * The floor: the least a relay built on Postern's libraries can do per message, measured as a
 * server under test of the peer lab (floor-relay.env). It accepts mail the way Postern does
 * (smtp-server: STARTTLS or implicit TLS, AUTH PLAIN with the lab's user) and relays every
 * message to the lab's sink through a pool of reused connections (nodemailer), and nothing
 * else: no policy, no header rewrite, no queue, no log, no metrics. With FLOOR_FSYNC=1 each
 * message is written to a file and fsynced before its 250 and the file is removed once the
 * sink has it (the least a durable relay must do; Postern's queue does that in one commit);
 * otherwise the 250 follows the data at once and a crash would lose it. With FLOOR_SIGN=1 every
 * message also gets an RSA-2048 signature (a SHA-256 of the body, the signature on the thread
 * pool, one header field): the cryptography of DKIM signing without its canonicalisation.
 *
 * Whatever rate this reaches on a machine is an upper bound for Postern there: Postern does
 * all of this plus its own work (issue 22, docs/benchmarks.md "The floor").
 *
 *   node bin/run-ts.js bench/lab/floor-relay.ts   (environment: FLOOR_PORTS="submission,submissions,mx",
 *   FLOOR_TLS_DIR with cert.pem and key.pem, FLOOR_SINK host:port, FLOOR_FSYNC 0|1, FLOOR_DIR for the files,
 *   FLOOR_SIGN 0|1, FLOOR_USER, FLOOR_PASS, FLOOR_CONNECTIONS to the sink)
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import nodemailer from 'nodemailer';
import { patchSmtpServer } from '../../src/listener/smtp-server-patch.ts';
import { patchDataStream } from '../../src/delivery/data-stream.ts';

// the libraries as Postern runs them: its faster DATA scanner (smtp-server) and DATA transform (nodemailer)
patchSmtpServer();
patchDataStream();

const env = (k: string, d: string) => process.env[k] ?? d;
/** submission (STARTTLS), submissions (implicit TLS), mx (no AUTH required) */
const ports = env('FLOOR_PORTS', '22587,22465,22025').split(',').map(Number);
// the lab's certificate, where postfix-peer.sh makes it (its PEER_DIR)
const tlsDir = env('FLOOR_TLS_DIR', path.join(env('PEER_DIR', path.join(os.tmpdir(), 'peerlab')), 'tls'));
const [sinkHost, sinkPort] = env('FLOOR_SINK', '127.0.0.1:10026').split(':');
if (!/^127\.|^localhost$/.test(sinkHost!)) throw new Error('FLOOR_SINK must be on loopback');
const durable = env('FLOOR_FSYNC', '0') === '1';
const dir = env('FLOOR_DIR', path.join(os.tmpdir(), 'floor-relay'));
const user = env('FLOOR_USER', 'alice@example.test');
const pass = env('FLOOR_PASS', 'alice-lab-pass');
if (durable) fs.mkdirSync(dir, { recursive: true });
// FLOOR_SIGN=1: the cryptography of a DKIM signature and nothing else (a SHA-256 of the body, an
// RSA-2048 signature on the thread pool as Postern makes it, one header field on top)
const signing = env('FLOOR_SIGN', '0') === '1' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : null;
const signAsync = promisify(sign);

async function signed(body: Buffer): Promise<Buffer> {
  if (!signing) return body;
  const bh = createHash('sha256').update(body).digest('base64');
  const fields = `v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=floor; bh=${bh}; b=`;
  const b = (await signAsync('rsa-sha256', Buffer.from(`dkim-signature:${fields}`), signing)).toString('base64');
  return Buffer.concat([Buffer.from(`DKIM-Signature: ${fields}${b}\r\n`), body]);
}

const transport = nodemailer.createTransport({
  host: sinkHost,
  port: Number(sinkPort),
  secure: false,
  ignoreTLS: true,
  pool: true,
  maxConnections: Number(env('FLOOR_CONNECTIONS', '20')),
  maxMessages: Number.POSITIVE_INFINITY,
});

let seq = 0;
let pending = 0;

type Envelope = { from: string; to: string[] };

function relay(envelope: Envelope, body: Buffer, file: string | null): void {
  pending++;
  transport.sendMail({ envelope, raw: body }, (err) => {
    pending--;
    if (err) console.error('floor-relay: the sink refused a message:', err.message);
    if (file) fs.unlink(file, () => undefined);
  });
}

function onData(stream: SMTPServerDataStream, session: SMTPServerSession, done: (err?: Error | null) => void): void {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const received = Buffer.concat(chunks);
    // taken now: smtp-server clears the session's envelope once the 250 is sent
    const envelope = {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((r) => r.address),
    };
    signed(received).then((body) => {
      if (!durable) {
        done();
        relay(envelope, body, null);
      } else store(envelope, body, done);
    }, done);
  });
}

/** One file per message, fdatasync'd before the 250, removed once the sink has the message. */
function store(envelope: Envelope, body: Buffer, done: (err?: Error | null) => void): void {
  const file = path.join(dir, `${process.pid}-${++seq}`);
  fs.open(file, 'w', (err, fd) => {
    if (err) return done(err);
    fs.writeFile(fd, body, (werr) => {
      if (werr) return fs.close(fd, () => done(werr));
      fs.fdatasync(fd, (serr) => {
        fs.close(fd, () => undefined);
        if (serr) return done(serr);
        done();
        relay(envelope, body, file);
      });
    });
  });
}

const tls = { key: fs.readFileSync(path.join(tlsDir, 'key.pem')), cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')) };
const common = {
  ...tls,
  logger: false,
  banner: 'floor relay',
  // as Postern's submission listeners: no reverse lookup of the client (no DNS here, and none
  // is needed), replies sent at once instead of after the client's delayed ACK (Nagle), and the
  // greeting at once (stock smtp-server waits 100 ms for early talkers; patchSmtpServer makes
  // that greetingDelayMs)
  disableReverseLookup: true,
  noDelay: true,
  greetingDelayMs: 0,
  size: 50 * 1024 * 1024,
  authMethods: ['PLAIN', 'LOGIN'],
  onAuth(auth, _session, cb) {
    if (auth.username === user && auth.password === pass) cb(null, { user });
    else cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
  },
  onData,
} as SMTPServerOptions;

const servers = [
  new SMTPServer({ ...common, secure: false }),
  new SMTPServer({ ...common, secure: true }),
  new SMTPServer({ ...common, secure: false, authOptional: true }),
];
await Promise.all(servers.map((s, i) => new Promise<void>((listening) => s.listen(ports[i], '127.0.0.1', listening))));
console.error(
  `floor-relay: pid ${process.pid}, ports ${ports.join(' ')}, ${durable ? 'fsync before 250' : 'no fsync'}${signing ? ', RSA-2048 signing' : ''}`,
);

process.on('SIGTERM', () => {
  for (const s of servers) s.close();
  setTimeout(() => process.exit(0), 5000).unref();
  const wait = () => (pending ? setTimeout(wait, 50) : (transport.close(), process.exit(0)));
  wait();
});
