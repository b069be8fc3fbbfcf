import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { ensureSelfSigned } from '../listener/index.ts';
import { registerProbeCommand } from '../admin/cli/probe.ts';
import { CliExit, type Io } from '../admin/cli/output.ts';
import { probeHost, formatProbeReport, recommend, verdictFor, type PortResult, type ProbeReport } from './index.ts';

const NAME = 'mail.example.test';
const HOST = '127.0.0.1';
const TIMEOUT = 800;

let cert: Buffer;
let key: Buffer;
const closers: (() => Promise<void>)[] = [];
const ports = { starttls: 0, implicit: 0, plain: 0, refused: 0, refused2: 0, silent: 0, banned: 0 };

async function startSmtp(opts: Partial<SMTPServerOptions>): Promise<number> {
  const server = new SMTPServer({
    name: NAME,
    banner: 'probe test',
    key,
    cert,
    authMethods: ['PLAIN', 'LOGIN'],
    disableReverseLookup: true,
    logger: false,
    onAuth: (_auth, _session, cb) => cb(new Error('no')),
    ...opts,
  });
  server.on('error', () => {
    /* resets by the probe are expected */
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.server.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, HOST, () => resolve()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function startSilent(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((c) => {
    sockets.add(c);
    c.on('error', () => {});
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((resolve) => s.listen(0, HOST, () => resolve()));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of sockets) c.destroy();
        s.close(() => resolve());
      }),
  );
  return (s.address() as net.AddressInfo).port;
}

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-probe-'));
  const files = await ensureSelfSigned(dir, NAME);
  cert = fs.readFileSync(files.cert);
  key = fs.readFileSync(files.key);
  ports.starttls = await startSmtp({});
  ports.implicit = await startSmtp({ secure: true });
  ports.plain = await startSmtp({ disabledCommands: ['STARTTLS'], hideSTARTTLS: true, authOptional: true });
  ports.refused = await freePort();
  ports.refused2 = await freePort();
  ports.silent = await startSilent();
  ports.banned = await startSmtp({
    onConnect: (_s, cb) => cb(Object.assign(new Error('5.7.1 your network is blocked'), { responseCode: 554 })),
  });
});
after(async () => {
  for (const c of closers) await c();
});

const probe = (list: number[], extra: Parameters<typeof probeHost>[1] = {}) =>
  probeHost(HOST, { ports: list, implicitPorts: [ports.implicit], timeoutMs: TIMEOUT, servername: NAME, ehloName: 'probe.test', ...extra });
const byPort = (r: ProbeReport, port: number) => r.results.find((x) => x.port === port)!;

describe('probeHost against real servers', () => {
  test('all kinds of port at once: per-port results, implicit TLS recommended, untrusted certificate named', async () => {
    const t0 = Date.now();
    const r = await probe([ports.starttls, ports.implicit, ports.plain, ports.refused, ports.silent]);
    assert.ok(Date.now() - t0 < TIMEOUT * 3, 'ports are probed in parallel');
    assert.deepEqual(
      r.results.map((x) => x.port),
      [ports.starttls, ports.implicit, ports.plain, ports.refused, ports.silent],
    );

    const st = byPort(r, ports.starttls);
    assert.equal(st.mode, 'starttls');
    assert.equal(st.reachable, true);
    assert.equal(st.smtp, true);
    assert.match(st.greeting!, /^220 mail\.example\.test /);
    assert.equal(st.starttlsOffered, true);
    assert.equal(st.tls?.ok, true);
    assert.match(st.tls!.version!, /^TLSv1\.[23]$/);
    assert.deepEqual(st.authAfterTls, ['PLAIN', 'LOGIN']);
    const c = st.tls!.cert!;
    assert.equal(c.subject, `CN=${NAME}`);
    assert.deepEqual(c.altNames, [NAME]);
    assert.match(c.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(c.trusted, false);
    assert.equal(c.trustError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(c.matchesName, true);
    assert.ok(!Number.isNaN(Date.parse(c.validFrom)) && Date.parse(c.validTo) > Date.now());

    const im = byPort(r, ports.implicit);
    assert.equal(im.mode, 'implicit');
    assert.equal(im.smtp, true);
    assert.equal(im.tls?.ok, true);
    assert.equal(im.starttlsOffered, undefined);
    assert.deepEqual(im.authAfterTls, ['PLAIN', 'LOGIN']);
    assert.equal(im.tls!.cert!.fingerprint256, c.fingerprint256);

    const pl = byPort(r, ports.plain);
    assert.equal(pl.smtp, true);
    assert.equal(pl.starttlsOffered, false);
    assert.equal(pl.tls, null);
    assert.deepEqual(pl.authBeforeTls, ['PLAIN', 'LOGIN']);

    const rf = byPort(r, ports.refused);
    assert.deepEqual([rf.reachable, rf.connectError, rf.smtp, rf.tls], [false, 'ECONNREFUSED', false, null]);

    const si = byPort(r, ports.silent);
    assert.deepEqual([si.reachable, si.smtp, si.greeting, si.tls], [true, false, undefined, null]);
    assert.match(si.error!, /no SMTP greeting/);
    assert.ok(si.ms >= TIMEOUT - 50 && si.ms < TIMEOUT + 500, `bounded by the timeout: ${si.ms} ms`);

    assert.deepEqual(r.recommended, { port: ports.implicit, security: 'SSL/TLS' });
    assert.match(r.verdict, new RegExp(`^Use port ${ports.implicit} with SSL/TLS\\.`));
    assert.match(r.verdict, /not trusted by this machine because it is self-signed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    assert.ok(r.verdict.includes(c.fingerprint256));

    const text = formatProbeReport(r);
    for (const x of r.results) assert.ok(text.includes(`Port ${x.port} (`), `a block for ${x.port}`);
    assert.match(text, /connection refused/);
    assert.match(text, /SHA-256 fingerprint: /);
    assert.match(text, /trusted by this machine: no: it is self-signed/);
    assert.match(text, new RegExp(`Recommended: port ${ports.implicit} with SSL/TLS`));
    assert.ok(text.trimEnd().endsWith(r.verdict));
  });

  test('with the CA given the certificate is trusted; a wrong server name does not match', async () => {
    const r = await probe([ports.starttls, ports.implicit], { ca: cert });
    for (const x of r.results)
      assert.deepEqual([x.tls?.cert?.trusted, x.tls?.cert?.trustError, x.tls?.cert?.matchesName], [true, undefined, true]);
    assert.match(r.verdict, /works from this network and the certificate is trusted\.$/);
    const w = await probe([ports.implicit], { ca: cert, servername: 'other.example.test' });
    assert.equal(w.results[0].tls?.cert?.trusted, true);
    assert.equal(w.results[0].tls?.cert?.matchesName, false);
    assert.match(w.verdict, /does not name other\.example\.test \(it names mail\.example\.test\)/);
  });

  test('only STARTTLS works: it is recommended', async () => {
    const r = await probe([ports.starttls, ports.plain, ports.refused]);
    assert.deepEqual(r.recommended, { port: ports.starttls, security: 'STARTTLS' });
    assert.match(
      r.verdict,
      new RegExp(`^Use port ${ports.starttls} with STARTTLS\\. Warning: the certificate is not trusted by this machine`),
    );
  });

  test('nothing reachable', async () => {
    const r = await probe([ports.refused, ports.refused2]);
    assert.equal(r.recommended, null);
    assert.ok(r.results.every((x) => !x.reachable && x.connectError === 'ECONNREFUSED'));
    assert.match(
      r.verdict,
      /^Nothing is reachable on ports .* outgoing mail ports are blocked from this network, or the server is down: try from another network\.$/,
    );
    assert.match(formatProbeReport(r), /Recommended: none/);
  });

  test('reachable, but no SMTP (silent port; implicit TLS against a plain SMTP port)', async () => {
    const r = await probe([ports.silent, ports.refused, ports.plain], { implicitPorts: [ports.plain] });
    const pl = byPort(r, ports.plain);
    assert.deepEqual([pl.reachable, pl.smtp, pl.tls?.ok], [true, false, false]);
    assert.ok(pl.tls?.error);
    assert.equal(r.recommended, null);
    assert.match(r.verdict, /accept connections, but nothing answered with an SMTP greeting/);
  });

  test('a server that refuses this machine in its greeting', async () => {
    const r = await probe([ports.banned, ports.refused]);
    const b = byPort(r, ports.banned);
    assert.deepEqual([b.reachable, b.smtp, b.tls], [true, false, null]);
    assert.match(b.greeting!, /^554 /);
    assert.match(
      r.verdict,
      /answers, but refuses this machine \(554 .*your network is blocked on port \d+\): the server may block this network's address/,
    );
  });

  test('SMTP without TLS', async () => {
    const r = await probe([ports.plain, ports.refused]);
    assert.equal(r.recommended, null);
    assert.match(
      r.verdict,
      new RegExp(`answers SMTP on port ${ports.plain}, but TLS does not work \\(STARTTLS not offered on port ${ports.plain}\\)`),
    );
    assert.match(r.verdict, /do not send passwords this way/);
  });
});

describe('recommendation and verdict rules', () => {
  const ok = (port: number, mode: PortResult['mode'], trusted = true): PortResult => ({
    port,
    mode,
    reachable: true,
    smtp: true,
    ms: 1,
    authAfterTls: ['PLAIN'],
    tls: {
      ok: true,
      cert: {
        subject: 'CN=m',
        issuer: 'CN=ca',
        altNames: ['m'],
        validFrom: '',
        validTo: '',
        fingerprint256: 'AA',
        trusted,
        matchesName: true,
      },
    },
  });
  const down = (port: number, connectError = 'ETIMEDOUT'): PortResult => ({
    port,
    mode: port === 465 ? 'implicit' : 'starttls',
    reachable: false,
    connectError,
    smtp: false,
    tls: null,
    ms: 1,
  });

  test('order: 465, 587, 2525, 25; port 25 is mentioned but not recommended for mail programs', () => {
    assert.deepEqual(recommend([ok(25, 'starttls'), ok(2525, 'starttls'), ok(587, 'starttls'), ok(465, 'implicit')]), {
      port: 465,
      security: 'SSL/TLS',
    });
    assert.deepEqual(recommend([ok(25, 'starttls'), ok(2525, 'starttls'), ok(587, 'starttls')])?.port, 587);
    assert.deepEqual(recommend([ok(25, 'starttls'), ok(2525, 'starttls')])?.port, 2525);
    const only25 = [ok(25, 'starttls'), down(465), down(587), down(2525)];
    assert.deepEqual(recommend(only25), { port: 25, security: 'STARTTLS' });
    assert.match(verdictFor('h', 'h', only25, recommend(only25)), /Port 25 is meant for server-to-server mail/);
    const both = [ok(25, 'starttls'), ok(587, 'starttls')];
    assert.match(
      verdictFor('h', 'h', both, recommend(both)),
      /^Use port 587 with STARTTLS: .* Port 25 is reachable too, but it is not recommended for mail programs/,
    );
  });

  test('no AUTH after TLS is said; a name that does not resolve is told apart', () => {
    const noAuth = [{ ...ok(587, 'starttls'), authAfterTls: [] }];
    assert.match(verdictFor('h', 'h', noAuth, recommend(noAuth)), /offers no AUTH on port 587/);
    const dns = [down(587, 'ENOTFOUND'), down(465, 'ENOTFOUND')];
    assert.match(verdictFor('nx.invalid', 'nx.invalid', dns, null), /^nx\.invalid does not resolve from this machine \(ENOTFOUND\)/);
  });
});

describe('postern probe (CLI)', () => {
  function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s), readStdin: async () => '' };
    const program = new Command('postern').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    registerProbeCommand(program, io);
    return program.parseAsync(['node', 'postern', 'probe', ...args]).then(
      () => ({ code: 0, out: out.join('\n'), err: err.join('\n') }),
      (e: unknown) => {
        if (!(e instanceof CliExit)) throw e;
        if (e.message) err.push(e.message);
        return { code: e.code, out: out.join('\n'), err: err.join('\n') };
      },
    );
  }

  test('exit 0 with a recommended setting, text or JSON', async () => {
    const r = await run(HOST, '--ports', `${ports.starttls}, ${ports.refused}`, '--timeout', '1', '--servername', NAME);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`Recommended: port ${ports.starttls} with STARTTLS`));
    const j = await run(HOST, '--ports', String(ports.starttls), '--timeout', '1', '--json');
    assert.equal(j.code, 0);
    const report = JSON.parse(j.out) as ProbeReport;
    assert.deepEqual(report.recommended, { port: ports.starttls, security: 'STARTTLS' });
    assert.equal(report.results[0].tls?.cert?.matchesName, false, 'servername defaults to the host');
  });

  test('exit 1 when nothing works', async () => {
    const r = await run(HOST, '--ports', `${ports.refused} ${ports.plain}`, '--timeout', '1');
    assert.equal(r.code, 1);
    assert.match(r.out, /Verdict: .*answers SMTP/);
    assert.equal(r.err, '');
  });

  test('exit 64 with one line for bad options', async () => {
    for (const args of [
      [HOST, '--ports', '25 abc'],
      [HOST, '--ports', '70000'],
      [HOST, '--ports', ' , '],
      [HOST, '--timeout', '0'],
      [HOST, '--timeout', 'soon'],
      ['mail.example.test:587'],
      ['not a host'],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 64, args.join(' '));
      assert.match(r.err, /^postern: probe: [^\n]+$/);
      assert.equal(r.out, '');
    }
    assert.match((await run('mail.example.test:587')).err, /postern probe mail\.example\.test --ports 587/);
  });
});
