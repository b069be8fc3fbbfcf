/** `postern probe HOST`: which mail ports of a server answer from here, with TLS and AUTH, and what to use. */
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';

export interface ProbeOptions {
  ports?: number[]; // default [25, 465, 587, 2525]
  implicitPorts?: number[]; // spoken to with implicit TLS (SSL/TLS), the others with STARTTLS; default [465]
  timeoutMs?: number; // per port, connection plus dialogue; default 5000
  servername?: string; // SNI and the name the certificate must show; default host
  ca?: string | Buffer; // an extra CA to trust besides this machine's (tests)
  ehloName?: string; // default os.hostname(), or the local address literal when that is no usable name
}

export interface CertInfo {
  subject: string;
  issuer: string;
  altNames: string[];
  validFrom: string;
  validTo: string;
  fingerprint256: string;
  trusted: boolean;
  trustError?: string;
  matchesName: boolean;
}

export interface PortResult {
  port: number;
  mode: 'implicit' | 'starttls';
  reachable: boolean;
  connectError?: string; // ECONNREFUSED, ETIMEDOUT (our timeout), EHOSTUNREACH, ENOTFOUND ...
  greeting?: string; // the first line of the server's greeting
  smtp: boolean; // answered with an SMTP 220 greeting
  tls: { ok: boolean; error?: string; version?: string; cipher?: string; cert?: CertInfo } | null; // null: not tried
  starttlsOffered?: boolean; // STARTTLS ports: advertised in the first EHLO
  authBeforeTls?: string[]; // STARTTLS ports: AUTH advertised before TLS (passwords in clear if used)
  authAfterTls?: string[];
  error?: string; // what went wrong once connected (no greeting, EHLO refused ...)
  ms: number;
}

export interface ProbeReport {
  host: string;
  servername: string;
  results: PortResult[];
  recommended: { port: number; security: 'SSL/TLS' | 'STARTTLS' } | null;
  verdict: string;
}

interface Resolved {
  timeoutMs: number;
  implicit: Set<number>;
  servername: string;
  ca?: (string | Buffer)[];
  ehloName?: string;
}
interface Reply {
  code: number;
  lines: string[];
}
type Stage = 'connect' | 'tls' | 'greeting' | 'ehlo' | 'starttls' | 'ehlo-tls' | 'quit';
interface Ctx {
  stage: Stage;
  sockets: net.Socket[];
  doneAt?: number;
}

const DEFAULT_PORTS = [25, 465, 587, 2525];
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

function errCode(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  return err.code ?? err.errors?.find((x) => x.code)?.code ?? err.message ?? String(e);
}

/** Reads SMTP replies (multi-line, "250-" continued) from a socket, line by line. */
function createReader(sock: net.Socket) {
  let buf = '';
  const lines: string[] = [];
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const onData = (d: Buffer) => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i).replace(/\r$/, ''));
      buf = buf.slice(i + 1);
    }
    if (buf.length > 4096) failure ??= new Error('reply line too long');
    notify();
  };
  const onClose = () => {
    failure ??= new Error('connection closed by the server');
    notify();
  };
  const onError = (e: Error) => {
    failure ??= new Error(errCode(e));
    notify();
  };
  sock.on('data', onData).on('end', onClose).on('close', onClose).on('error', onError);
  const next = async (): Promise<string> => {
    while (!lines.length) {
      if (failure) throw failure;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
    return lines.shift()!;
  };
  return {
    async reply(): Promise<Reply> {
      const out: string[] = [];
      for (;;) {
        const line = await next();
        const m = /^(\d{3})([ -]|$)/.exec(line);
        if (!m || (out.length && !out[0].startsWith(m[1])) || out.length > 200) throw new Error(`not SMTP: "${line.slice(0, 80)}"`);
        out.push(line);
        if (m[2] !== '-') return { code: Number(m[1]), lines: out };
      }
    },
    detach() {
      sock.off('data', onData).off('end', onClose).off('close', onClose).off('error', onError);
    },
  };
}
type Reader = ReturnType<typeof createReader>;

async function command(sock: net.Socket, reader: Reader, line: string): Promise<Reply> {
  sock.write(`${line}\r\n`);
  return reader.reply();
}

const keywords = (ehlo: Reply) => ehlo.lines.slice(1).map((l) => l.slice(4).trim());
function authMechanisms(ehlo: Reply): string[] {
  const mechs = keywords(ehlo)
    .filter((k) => /^AUTH[ =]/i.test(k))
    .flatMap((k) => k.slice(5).trim().split(/\s+/));
  return [...new Set(mechs.filter(Boolean).map((m) => m.toUpperCase()))];
}

function connectTcp(host: string, port: number, ctx: Ctx): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    ctx.sockets.push(s);
    s.on('error', () => {
      /* reported through the promise or the reader */
    });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
    s.once('close', () => reject(new Error('ECONNRESET')));
  });
}

function dn(d: object | undefined): string {
  return Object.entries(d ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
}

function certInfo(t: tls.TLSSocket, servername: string): CertInfo | undefined {
  const c = t.getPeerCertificate();
  if (!c || !Object.keys(c).length) return undefined;
  const altNames = (c.subjectaltname ?? '')
    .split(/,\s*/)
    .filter(Boolean)
    .map((s) => s.replace(/^(DNS|IP Address):/, ''));
  const iso = (s: string) => (Number.isNaN(Date.parse(s)) ? s : new Date(s).toISOString());
  return {
    subject: dn(c.subject),
    issuer: dn(c.issuer),
    altNames,
    validFrom: iso(c.valid_from),
    validTo: iso(c.valid_to),
    fingerprint256: c.fingerprint256,
    trusted: t.authorized,
    ...(t.authorized ? {} : { trustError: String(t.authorizationError ?? 'unknown') }),
    matchesName: tls.checkServerIdentity(servername, c) === undefined,
  };
}

/** Starts TLS on a connected socket; certificate trust and name are judged after, never refused. */
function upgrade(sock: net.Socket, o: Resolved, ctx: Ctx, r: PortResult): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({
      socket: sock,
      servername: net.isIP(o.servername) ? undefined : o.servername,
      ca: o.ca,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    ctx.sockets.push(t);
    t.on('error', () => {
      /* reported through the promise or the reader */
    });
    t.once('error', (e) => reject(new Error(errCode(e))));
    t.once('close', () => reject(new Error('connection closed during the TLS handshake')));
    t.once('secureConnect', () => {
      r.tls = { ok: true, version: t.getProtocol() ?? undefined, cipher: t.getCipher()?.name, cert: certInfo(t, o.servername) };
      resolve(t);
    });
  });
}

async function quit(sock: net.Socket, reader: Reader, ctx: Ctx): Promise<void> {
  ctx.stage = 'quit'; // the result is complete: a silent server no longer changes it
  ctx.doneAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    command(sock, reader, 'QUIT').catch(() => null),
    new Promise((r) => {
      timer = setTimeout(r, 1000);
    }),
  ]);
  clearTimeout(timer);
  sock.end();
}

async function dialogue(host: string, port: number, o: Resolved, r: PortResult, ctx: Ctx): Promise<void> {
  let sock: net.Socket = await connectTcp(host, port, ctx);
  r.reachable = true;
  const ehloName = o.ehloName ?? (HOSTNAME.test(os.hostname()) ? os.hostname() : `[${sock.localAddress ?? '127.0.0.1'}]`);
  if (r.mode === 'implicit') {
    ctx.stage = 'tls';
    sock = await upgrade(sock, o, ctx, r);
  }
  let reader = createReader(sock);
  ctx.stage = 'greeting';
  const greeting = await reader.reply();
  r.greeting = greeting.lines[0];
  if (greeting.code !== 220) {
    r.error = `the server refused the session: ${greeting.lines.join(' ')}`;
    return quit(sock, reader, ctx);
  }
  r.smtp = true;
  ctx.stage = 'ehlo';
  let ehlo = await command(sock, reader, `EHLO ${ehloName}`);
  if (ehlo.code !== 250) {
    r.error = `EHLO refused: ${ehlo.lines.join(' ')}`;
    return quit(sock, reader, ctx);
  }
  if (r.mode === 'starttls') {
    r.starttlsOffered = keywords(ehlo).some((k) => /^STARTTLS$/i.test(k));
    r.authBeforeTls = authMechanisms(ehlo);
    if (!r.starttlsOffered) return quit(sock, reader, ctx);
    ctx.stage = 'starttls';
    const st = await command(sock, reader, 'STARTTLS');
    if (st.code !== 220) {
      r.tls = { ok: false, error: `STARTTLS refused: ${st.lines.join(' ')}` };
      return quit(sock, reader, ctx);
    }
    reader.detach();
    ctx.stage = 'tls';
    sock = await upgrade(sock, o, ctx, r);
    reader = createReader(sock);
    ctx.stage = 'ehlo-tls';
    ehlo = await command(sock, reader, `EHLO ${ehloName}`);
    if (ehlo.code !== 250) {
      r.error = `EHLO after TLS refused: ${ehlo.lines.join(' ')}`;
      return quit(sock, reader, ctx);
    }
  }
  r.authAfterTls = authMechanisms(ehlo);
  return quit(sock, reader, ctx);
}

/** Records where the dialogue stopped: a network failure is a result, never an exception. */
function note(r: PortResult, stage: Stage, err: Error | 'timeout', timeoutMs: number): void {
  const why = err === 'timeout' ? `timed out after ${timeoutMs} ms` : err.message;
  if (stage === 'connect') {
    r.reachable = false;
    r.connectError = err === 'timeout' ? 'ETIMEDOUT' : errCode(err);
  } else if (stage === 'tls') r.tls = { ok: false, error: err === 'timeout' ? `TLS handshake ${why}` : why };
  else if (stage === 'greeting') r.error = err === 'timeout' ? `connected, but no SMTP greeting (${why})` : why;
  else if (stage !== 'quit') r.error = `${stage === 'ehlo-tls' ? 'EHLO after TLS' : stage.toUpperCase()}: ${why}`;
}

async function probePort(host: string, port: number, o: Resolved): Promise<PortResult> {
  const start = Date.now();
  const r: PortResult = { port, mode: o.implicit.has(port) ? 'implicit' : 'starttls', reachable: false, smtp: false, tls: null, ms: 0 };
  const ctx: Ctx = { stage: 'connect', sockets: [] };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), o.timeoutMs);
  });
  const run = dialogue(host, port, o, r, ctx).then(
    () => 'done' as const,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  const outcome = await Promise.race([run, timeout]);
  clearTimeout(timer);
  const stage = ctx.stage; // read before destroying: late callbacks may still move it
  for (const s of ctx.sockets) s.destroy();
  if (outcome !== 'done') note(r, stage, outcome, o.timeoutMs);
  r.ms = (ctx.doneAt ?? Date.now()) - start;
  return r;
}

export async function probeHost(host: string, opts: ProbeOptions = {}): Promise<ProbeReport> {
  const ports = opts.ports ?? DEFAULT_PORTS;
  for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`not a port: ${p}`);
  const servername = opts.servername ?? host;
  const o: Resolved = {
    timeoutMs: opts.timeoutMs ?? 5000,
    implicit: new Set(opts.implicitPorts ?? [465]),
    servername,
    ca: opts.ca ? [...tls.rootCertificates, opts.ca] : undefined,
    ehloName: opts.ehloName,
  };
  const results = await Promise.all([...new Set(ports)].map((p) => probePort(host, p, o)));
  const recommended = recommend(results);
  return { host, servername, results, recommended, verdict: verdictFor(host, servername, results, recommended) };
}

const works = (r: PortResult) => r.smtp && r.tls?.ok === true;
const rank = (r: PortResult) => (r.mode === 'implicit' ? 0 : r.port === 587 ? 1 : r.port === 2525 ? 2 : r.port === 25 ? 4 : 3);

/** 465 (implicit TLS), then 587, 2525, other STARTTLS ports, 25: the first whose TLS worked. */
export function recommend(results: PortResult[]): ProbeReport['recommended'] {
  const best = results.filter(works).sort((a, b) => rank(a) - rank(b))[0];
  return best ? { port: best.port, security: best.mode === 'implicit' ? 'SSL/TLS' : 'STARTTLS' } : null;
}

const TRUST_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a certificate authority this machine does not know',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is unknown here, or the server does not send the intermediate certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its issuer is unknown here, or the server does not send the intermediate certificate',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: "it is not valid yet (check this machine's clock)",
};
export function describeTrustError(code: string | undefined): string {
  return code && TRUST_ERRORS[code] ? `${TRUST_ERRORS[code]} (${code})` : (code ?? 'unknown reason');
}

const list = (ports: number[]) => ports.join(', ');
/** "why A on ports 1, 2; why B on port 3": one reason once. */
function grouped(rs: PortResult[], why: (r: PortResult) => string): string {
  const groups = new Map<string, number[]>();
  for (const r of rs) groups.set(why(r), [...(groups.get(why(r)) ?? []), r.port]);
  return [...groups].map(([w, ps]) => `${w} on port${ps.length > 1 ? 's' : ''} ${list(ps)}`).join('; ');
}

export function verdictFor(host: string, servername: string, results: PortResult[], rec: ProbeReport['recommended']): string {
  const out: string[] = [];
  const r = rec && results.find((x) => x.port === rec.port);
  const p25 = results.find((x) => x.port === 25 && x.reachable);
  if (rec && r) {
    const cert = r.tls?.cert;
    out.push(
      `Use port ${r.port} with ${rec.security}${cert?.trusted ? ': it works from this network and the certificate is trusted.' : '.'}`,
    );
    if (cert && !cert.trusted)
      out.push(
        `Warning: the certificate is not trusted by this machine because ${describeTrustError(cert.trustError)}; mail programs will warn or refuse: install a certificate from a public authority on the server, or accept this one only after comparing its SHA-256 fingerprint ${cert.fingerprint256}.`,
      );
    if (cert && !cert.matchesName)
      out.push(
        `The certificate does not name ${servername} (it names ${cert.altNames.join(', ') || cert.subject}): set the server name in the mail program to one of those.`,
      );
    if (!r.authAfterTls?.length) out.push(`The server offers no AUTH on port ${r.port}, so a mail program cannot log in there.`);
    if (r.port === 25)
      out.push(
        'Port 25 is meant for server-to-server mail and many networks block it; mail programs should use 465 or 587, which are not working from here.',
      );
    else if (p25) out.push('Port 25 is reachable too, but it is not recommended for mail programs: many networks block it.');
    return out.join(' ');
  }
  const smtp = results.filter((x) => x.smtp);
  const reachable = results.filter((x) => x.reachable);
  const refused = reachable.filter((x) => x.greeting && !x.smtp);
  if (smtp.length) {
    const why = grouped(smtp, (x) =>
      x.tls ? (x.tls.error ?? 'TLS failed') : x.starttlsOffered === false ? 'STARTTLS not offered' : (x.error ?? 'TLS not tried'),
    );
    out.push(
      `${host} answers SMTP on port${smtp.length > 1 ? 's' : ''} ${list(smtp.map((x) => x.port))}, but TLS does not work (${why}): do not send passwords this way; the server's TLS setup needs fixing, or something on this network strips STARTTLS.`,
    );
  } else if (refused.length) {
    out.push(
      `${host} answers, but refuses this machine (${grouped(refused, (x) => x.greeting!)}): the server may block this network's address; ask the provider to check its blocklist.`,
    );
  } else if (reachable.length) {
    const why = grouped(reachable, (x) => x.tls?.error ?? x.error ?? 'no greeting');
    out.push(
      `Port${reachable.length > 1 ? 's' : ''} ${list(reachable.map((x) => x.port))} of ${host} accept connections, but nothing answered with an SMTP greeting (${why}): the mail service is not running there, or something on this network intercepts mail ports.`,
    );
  } else if (results.length && results.every((x) => /^(ENOTFOUND|EAI_AGAIN)$/.test(x.connectError ?? ''))) {
    out.push(
      `${host} does not resolve from this machine (${results[0].connectError}): check the spelling of the server name, or this network's DNS.`,
    );
  } else {
    out.push(
      `Nothing is reachable on port${results.length > 1 ? 's' : ''} ${list(results.map((x) => x.port))} of ${host}: outgoing mail ports are blocked from this network, or the server is down: try from another network.`,
    );
  }
  if (p25?.smtp) out.push('Port 25 is reachable, but it is not recommended for mail programs: many networks block it.');
  return out.join(' ');
}

function describePort(r: PortResult): string[] {
  const head = `Port ${r.port} (${r.mode === 'implicit' ? 'SSL/TLS' : 'STARTTLS'}): `;
  if (!r.reachable) {
    const why: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ETIMEDOUT: 'no answer (timed out: blocked or filtered)',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
    };
    return [`${head}not reachable: ${why[r.connectError ?? ''] ?? r.connectError ?? 'unknown error'} [${r.ms} ms]`];
  }
  const out = [`${head}reachable [${r.ms} ms]`];
  if (r.greeting) out.push(`  greeting: ${r.greeting}`);
  if (r.starttlsOffered === false) out.push('  STARTTLS: not offered');
  if (r.authBeforeTls?.length && r.mode === 'starttls') out.push(`  AUTH before TLS: ${r.authBeforeTls.join(' ')}`);
  if (r.tls && !r.tls.ok) out.push(`  TLS: failed: ${r.tls.error ?? 'unknown error'}`);
  if (r.tls?.ok) {
    out.push(`  TLS: ${r.tls.version ?? '?'} ${r.tls.cipher ?? ''}`.trimEnd());
    const c = r.tls.cert;
    if (c) {
      out.push(`  certificate: ${c.subject}`, `    issued by: ${c.issuer}`, `    names: ${c.altNames.join(', ') || '(none)'}`);
      out.push(`    valid: ${c.validFrom} to ${c.validTo}`, `    SHA-256 fingerprint: ${c.fingerprint256}`);
      out.push(
        `    trusted by this machine: ${c.trusted ? 'yes' : `no: ${describeTrustError(c.trustError)}`}`,
        `    matches the server name: ${c.matchesName ? 'yes' : 'no'}`,
      );
    }
  }
  if (r.authAfterTls) out.push(`  AUTH after TLS: ${r.authAfterTls.join(' ') || '(none offered)'}`);
  if (r.error) out.push(`  problem: ${r.error}`);
  return out;
}

/** Plain text a support agent can read out: one block per port, then the verdict. */
export function formatProbeReport(r: ProbeReport): string {
  const out = [
    `Mail ports of ${r.host}${r.servername !== r.host ? ` (certificate name ${r.servername})` : ''}, tried from ${os.hostname()}:`,
    '',
  ];
  for (const x of r.results) out.push(...describePort(x), '');
  out.push(
    r.recommended
      ? `Recommended: port ${r.recommended.port} with ${r.recommended.security}`
      : 'Recommended: none (no port works with TLS from here)',
  );
  out.push(`Verdict: ${r.verdict}`);
  return out.join('\n');
}
